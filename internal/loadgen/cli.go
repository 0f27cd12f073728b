package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/dedesales/exchange-connector/internal/clientstate"
	"github.com/dedesales/exchange-connector/internal/config"
	"github.com/dedesales/exchange-connector/internal/queue"
	"github.com/dedesales/exchange-connector/internal/secret"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/webhooks"
)

// DemoMailboxes are the enabled mailboxes of configs/demo/crm.json.
var DemoMailboxes = []string{"anna.berger@dedenet.de", "peter.kraus@dedenet.de", "julia.schaefer@dedenet.de",
	"markus.lehmann@dedenet.de", "sven.koehler@dedenet.de"}

// DemoSenders are contacts of configs/demo/crm.json (each mail from one of
// them becomes an activity).
var DemoSenders = []string{"sabine.schulz@schulz-technik.com", "juergen.schulz@schulz-technik.com",
	"t.mueller@mueller-bau.de", "birgit.kraemer@mueller-bau.de", "stefan.hofmann@hofmann-bau.de",
	"monika.weiss@hofmann-bau.de", "georg.hofmann@brauerei-hofmann.de", "dieter.schneider@elektro-schneider-gmbh.de"}

const usage = `loadgen drives the Graph simulator and the connector and measures them.

Usage:
  loadgen run [flags]        inject mails into the simulator, wait for the activities, report
  loadgen backfill [flags]   measure a fresh connector's initial sync (mailboxes synced, activities)
  loadgen crm --employees N  print the demo CRM with N generated employees (mailboxes as graphsim's generate)
  loadgen synced --expect N  wait until N mailboxes are subscribed and first-synced; Graph requests and 429s
  loadgen upkeep             run one subscription upkeep and one health check, report their wall times
  loadgen bare --listen ADDR serve the intake baseline: POST /graph/notifications → 202, nothing else
  loadgen bare --listen ADDR --enqueue REDIS_URL
                             serve the intake floor: the baseline plus one pipelined asynq enqueue per request
  loadgen clientstate --employee N
                             print a valid clientState for employee N (key from CONNECTOR_MASTER_KEY_FILE)
  loadgen serve --role=web --pprof ADDR
                             run the connector's serve in this process, with net/http/pprof on ADDR (profiling)

The connector's database and Redis come from the connector's configuration
(--config, CONNECTOR_DATABASE_URL, CONNECTOR_REDIS_URL); the database is only read.
Run "loadgen COMMAND --help" for the flags of a command.
`

// Main runs the loadgen command line and returns the exit status.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprint(stdout, usage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	var err error
	switch args[0] {
	case "run":
		err = cmdRun(ctx, args[1:], stdout, stderr)
	case "backfill":
		err = cmdBackfill(ctx, args[1:], stdout, stderr)
	case "bare":
		err = cmdBare(ctx, args[1:], stderr)
	case "crm":
		err = cmdCRM(args[1:], stdout, stderr)
	case "synced":
		err = cmdSynced(ctx, args[1:], stdout, stderr)
	case "upkeep":
		err = cmdUpkeep(ctx, args[1:], stdout, stderr)
	case "clientstate":
		err = cmdClientState(args[1:], stdout, stderr)
	case "serve":
		err = cmdServe(ctx, args[1:], stderr)
	default:
		err = fmt.Errorf("unknown command %q (see loadgen --help)", args[0])
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintf(stderr, "loadgen: %v\n", strings.TrimPrefix(err.Error(), "loadgen: "))
		return 1
	}
	return 0
}

func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: loadgen %s\n\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// openConnector opens the connector's database (read-only use) and an asynq
// Inspector on its Redis, from its configuration.
func openConnector(ctx context.Context, cfgFile string, withRedis bool) (*store.Store, *asynq.Inspector, error) {
	cfg, err := config.Load(cfgFile, nil)
	if err != nil {
		return nil, nil, err
	}
	dialect, dsn, err := cfg.Database()
	if err != nil {
		return nil, nil, err
	}
	st, err := store.Open(ctx, dialect, dsn)
	if err != nil {
		return nil, nil, err
	}
	if !withRedis {
		return st, nil, nil
	}
	opt, err := asynq.ParseRedisURI(cfg.RedisURL)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("redis_url: %w", err)
	}
	return st, asynq.NewInspector(opt), nil
}

func cmdRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("run", "run --sim https://127.0.0.1:PORT --sim-ca FILE [flags]", stderr)
	simURL := fs.String("sim", "", "simulator base URL (https://127.0.0.1:PORT)")
	simCA := fs.String("sim-ca", "", "the simulator's CA file (graphsim --ca-out)")
	cfgFile := fs.String("config", "", "connector configuration file (default: as the connector; env overrides)")
	nMailboxes := fs.Int("mailboxes", 2, "number of mailboxes to spread the mail over (taken from --mailbox-list)")
	mbList := fs.String("mailbox-list", strings.Join(DemoMailboxes, ","), "the connector's enabled mailboxes, comma-separated")
	allMailboxes := fs.Bool("all-mailboxes", false, "spread the mail over every syncable mailbox of the connector's database (instead of --mailboxes/--mailbox-list)")
	senders := fs.String("senders", strings.Join(DemoSenders, ","), "CRM contact addresses the mail comes from, comma-separated")
	count := fs.Int("count", 1000, "mails to inject")
	rate := fs.Float64("rate", 0, "mails per second (0: as fast as possible)")
	injectors := fs.Int("injectors", 16, "concurrent injectors when --rate is 0")
	folders := fs.String("folders", "inbox:6,sentitems:2,inbox/Kunden/Last:1,junkemail:1", "folder mix FOLDER:WEIGHT,… (junk and other excluded folders make no activity)")
	attachEvery := fs.Int("attach-every", 10, "every Nth mail carries an attachment (0: none)")
	attachSize := fs.Int("attach-size", 64<<10, "attachment size in bytes")
	dups := fs.Int("duplicates", 1, "send every notification this many times (simulator fault duplicateNotifications)")
	timeout := fs.Duration("timeout", 5*time.Minute, "bound of the whole run")
	pid := fs.Int("pid", 0, "connector (worker) process whose VmRSS/VmHWM is sampled")
	sample := fs.Duration("sample", 250*time.Millisecond, "sampling period of backlog and RSS")
	tag := fs.String("tag", "", "subject prefix of this run (default lg-<unix time>)")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file (- for stdout)")
	title := fs.String("title", "pipeline", "title of the table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *simURL == "" || *simCA == "" {
		fs.Usage()
		return errors.New("--sim and --sim-ca are required")
	}
	mbs := splitList(*mbList)
	if !*allMailboxes && (*nMailboxes < 1 || *nMailboxes > len(mbs)) {
		return fmt.Errorf("--mailboxes %d: between 1 and %d (the --mailbox-list)", *nMailboxes, len(mbs))
	}
	fl, err := ParseFolders(*folders)
	if err != nil {
		return err
	}
	if *tag == "" {
		*tag = fmt.Sprintf("lg-%d", time.Now().Unix())
	}
	sim, err := NewSim(*simURL, *simCA)
	if err != nil {
		return err
	}
	defer sim.Close()
	st, insp, err := openConnector(ctx, *cfgFile, true)
	if err != nil {
		return err
	}
	defer st.Close()
	defer insp.Close()
	if *allMailboxes {
		all, err := st.Mailboxes(ctx)
		if err != nil {
			return err
		}
		mbs = mbs[:0]
		for _, mb := range all {
			if mb.Syncable() {
				mbs = append(mbs, mb.Address)
			}
		}
		if len(mbs) == 0 {
			return errors.New("--all-mailboxes: the connector has no syncable mailbox")
		}
		*nMailboxes = len(mbs)
	}
	res, runErr := Run(ctx, Options{Mailboxes: mbs[:*nMailboxes], Senders: splitList(*senders), Count: *count, Rate: *rate,
		Injectors: *injectors, Folders: fl, AttachEvery: *attachEvery, AttachSize: *attachSize, Duplicates: *dups,
		Timeout: *timeout, PID: *pid, Sample: *sample, Tag: *tag}, sim, st, insp)
	if res != nil {
		printRun(stdout, *title, res)
		if err := writeJSON(*jsonOut, stdout, res); err != nil {
			return err
		}
	}
	return runErr
}

func printRun(w io.Writer, title string, r *Result) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	rate := "as fast as possible"
	if r.TargetRate > 0 {
		rate = fmt.Sprintf("%.0f/s", r.TargetRate)
	}
	fmt.Fprintf(tw, "== %s (%s)\n", title, r.Tag)
	fmt.Fprintf(tw, "mails injected\t%d into %d mailboxes at %s (%d with attachment, %d errors)\n", r.Injected, r.Mailboxes, rate, r.Attachments, r.InjectionErrors)
	fmt.Fprintf(tw, "injection\t%.2f s, %.0f mails/s\n", r.InjectSeconds, r.InjectRate)
	fmt.Fprintf(tw, "notifications delivered\t%d (%.0f/s, %d failed, duplicates ×%d)\n", r.Delivered, r.DeliveredRate, r.NotifyFailed, max(r.Duplicates, 1))
	fmt.Fprintf(tw, "activities\t%d of %d expected (complete: %v)\n", r.Found, r.Expected, r.Complete)
	fmt.Fprintf(tw, "throughput\t%.0f activities/s (first injection → last activity, %.2f s)\n", r.Throughput, r.TotalSeconds)
	fmt.Fprintf(tw, "latency notification→activity\tp50 %d ms, p95 %d ms, p99 %d ms, max %d ms\n", r.LatencyMS[0], r.LatencyMS[1], r.LatencyMS[2], r.MaxLatencyMS)
	fmt.Fprintf(tw, "backlog (asynq, all queues)\tmax %d, at the end %d\n", r.MaxBacklog, r.FinalBacklog)
	if r.HWMKB > 0 {
		fmt.Fprintf(tw, "connector memory\tVmRSS max %.0f MB, VmHWM %.0f MB\n", float64(r.MaxRSSKB)/1024, float64(r.HWMKB)/1024)
	}
	tw.Flush()
}

func cmdBackfill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("backfill", "backfill --expect N [--since-ms T] [--pid PID] [flags]", stderr)
	cfgFile := fs.String("config", "", "connector configuration file (default: as the connector; env overrides)")
	expect := fs.Int("expect", 0, "activities the backfill must create (0: wait for the sync only)")
	sinceMS := fs.Int64("since-ms", 0, "start of the measurement, Unix milliseconds (default: now)")
	pid := fs.Int("pid", 0, "connector process whose VmRSS/VmHWM is sampled")
	timeout := fs.Duration("timeout", 2*time.Minute, "give up after this long")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	since := time.Now()
	if *sinceMS > 0 {
		since = time.UnixMilli(*sinceMS)
	}
	st, _, err := openConnector(ctx, *cfgFile, false)
	if err != nil {
		return err
	}
	defer st.Close()
	res, werr := WaitBackfill(ctx, st, since, *expect, *pid, *timeout)
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "== backfill\n")
	fmt.Fprintf(tw, "mailboxes synced (subscription + first sync)\t%d after %.1f s\n", res.Mailboxes, res.SyncedSeconds)
	fmt.Fprintf(tw, "activities\t%d after %.1f s (%.0f/s)\n", res.Activities, res.ActivitySeconds, res.Rate)
	if res.HWMKB > 0 {
		fmt.Fprintf(tw, "connector memory\tVmRSS max %.0f MB, VmHWM %.0f MB\n", float64(res.MaxRSSKB)/1024, float64(res.HWMKB)/1024)
	}
	tw.Flush()
	if err := writeJSON(*jsonOut, stdout, res); err != nil {
		return err
	}
	return werr
}

func cmdCRM(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("crm", "crm --employees N [--base FILE] [--mail TEMPLATE]", stderr)
	n := fs.Int("employees", 1000, "employees to generate, each with an enabled mailbox")
	base := fs.String("base", "configs/demo/crm.json", "CRM import whose customers, contacts and settings are kept")
	mail := fs.String("mail", "user{n}@scale.example", "mailbox template, as graphsim's generate.mail")
	if err := fs.Parse(args); err != nil {
		return err
	}
	b, err := os.ReadFile(*base)
	if err != nil {
		return err
	}
	out, err := GenerateCRM(b, *n, *mail)
	if err != nil {
		return err
	}
	_, err = stdout.Write(append(out, '\n'))
	return err
}

func cmdSynced(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("synced", "synced --sim URL --sim-ca FILE --expect N [--since-ms T] [flags]", stderr)
	simURL := fs.String("sim", "", "simulator base URL (https://127.0.0.1:PORT)")
	simCA := fs.String("sim-ca", "", "the simulator's CA file (graphsim --ca-out)")
	cfgFile := fs.String("config", "", "connector configuration file (default: as the connector; env overrides)")
	expect := fs.Int("expect", 1, "mailboxes that must be subscribed and synced")
	sinceMS := fs.Int64("since-ms", 0, "start of the measurement, Unix milliseconds (default: now)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	since := time.Now()
	if *sinceMS > 0 {
		since = time.UnixMilli(*sinceMS)
	}
	sim, err := NewSim(*simURL, *simCA)
	if err != nil {
		return err
	}
	defer sim.Close()
	st, _, err := openConnector(ctx, *cfgFile, false)
	if err != nil {
		return err
	}
	defer st.Close()
	res, werr := WaitSynced(ctx, st, sim, since, *expect, *timeout)
	fmt.Fprintf(stdout, "== subscribed + first-synced: %d of %d mailboxes after %.1f s; %d Graph requests, %d answered 429\n",
		res.Mailboxes, *expect, res.SyncedSeconds, res.GraphRequests, res.Throttled)
	if err := writeJSON(*jsonOut, stdout, res); err != nil {
		return err
	}
	return werr
}

func cmdUpkeep(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("upkeep", "upkeep [--timeout D] [--json FILE]", stderr)
	cfgFile := fs.String("config", "", "connector configuration file (default: as the connector; env overrides)")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this long")
	jsonOut := fs.String("json", "", "also write the result as JSON to this file (- for stdout)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := config.Load(*cfgFile, nil)
	if err != nil {
		return err
	}
	opt, err := asynq.ParseRedisURI(cfg.RedisURL)
	if err != nil {
		return fmt.Errorf("redis_url: %w", err)
	}
	client, insp := asynq.NewClient(opt), asynq.NewInspector(opt)
	defer client.Close()
	defer insp.Close()
	res, err := RunUpkeep(ctx, client, insp, *timeout)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "== upkeep round: subscription upkeep %.3f s, health check %.3f s (enqueued → completed)\n", res.EnsureSeconds, res.HealthSeconds)
	return writeJSON(*jsonOut, stdout, res)
}

func cmdBare(ctx context.Context, args []string, stderr io.Writer) error {
	fs := newFlags("bare", "bare --listen ADDR [--enqueue REDIS_URL]", stderr)
	listen := fs.String("listen", "127.0.0.1:8099", "address to listen on")
	enqueue := fs.String("enqueue", "", "serve the floor: also enqueue one task per request into this Redis (queue "+FloorQueue+"), pipelined like the connector's webhook")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var enq webhooks.Enqueuer
	if *enqueue != "" {
		opt, err := redis.ParseURL(*enqueue)
		if err != nil {
			return fmt.Errorf("--enqueue: %w", err)
		}
		opt.PoolSize = 64 // as the connector's (internal/app redisConnOpt)
		rdb := redis.NewClient(opt)
		defer rdb.Close()
		enq = queue.NewPipelinedClient(rdb)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	what := "202"
	if enq != nil {
		what = "one enqueue, 202"
	}
	fmt.Fprintf(stderr, "loadgen bare: POST http://%s/graph/notifications → %s\n", ln.Addr(), what)
	return ServeBare(ctx, ln, enq)
}

func cmdClientState(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("clientstate", "clientstate --employee N [--key-file FILE]", stderr)
	employee := fs.Int64("employee", 1, "employee ID the clientState names")
	keyFile := fs.String("key-file", os.Getenv("CONNECTOR_MASTER_KEY_FILE"), "the connector's master key (default CONNECTOR_MASTER_KEY_FILE)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *keyFile == "" {
		return errors.New("no master key: set CONNECTOR_MASTER_KEY_FILE or --key-file")
	}
	key, err := secret.LoadKey(*keyFile)
	if err != nil {
		return err
	}
	// As internal/app.Serve derives it.
	keys, err := clientstate.NewKeys(key.Derive("clientstate"))
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, keys.Generate(*employee))
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func writeJSON(path string, stdout io.Writer, v any) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "-" {
		_, err = stdout.Write(data)
		return err
	}
	return os.WriteFile(path, data, 0o644)
}
