package graphsim

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Scenario is a YAML tenant description (see doc.go for the format).
type Scenario struct {
	Users        []ScenarioUser `yaml:"users"`
	AccessPolicy struct {
		AllowedMailboxes []string `yaml:"allowedMailboxes"`
	} `yaml:"accessPolicy"`
	Secrets []SecretInput  `yaml:"secrets"`
	Faults  map[string]any `yaml:"faults"`
	Live    []ScenarioLive `yaml:"live"`
	// Generate adds a tenant of many alike users without listing them
	// (the scale bench: 10,000 mailboxes are not a 10,000-entry file).
	Generate *ScenarioGenerate `yaml:"generate"`
}

// ScenarioGenerate describes Users generated users: in Mail and DisplayName
// "{n}" is the user's number (1…Users, zero-padded to at least 5 digits);
// every user gets the Messages (their Repeat and Spacing apply per user).
type ScenarioGenerate struct {
	Users       int               `yaml:"users"`
	Mail        string            `yaml:"mail"`        // default "user{n}@scale.example"
	DisplayName string            `yaml:"displayName"` // default "Scale User {n}"
	Messages    []ScenarioMessage `yaml:"messages"`
}

// MaxGeneratedUsers bounds generate.users (a typo must not eat the memory).
const MaxGeneratedUsers = 1_000_000

// GeneratedName returns template with "{n}" replaced by n, zero-padded to
// the width of total (at least 5 digits): what generate names user n.
func GeneratedName(template string, n, total int) string {
	width := max(5, len(strconv.Itoa(total)))
	return strings.ReplaceAll(template, "{n}", fmt.Sprintf("%0*d", width, n))
}

// users expands the generator into scenario users.
func (g *ScenarioGenerate) users() ([]ScenarioUser, error) {
	if g.Users < 0 || g.Users > MaxGeneratedUsers {
		return nil, fmt.Errorf("generate: users %d: between 0 and %d", g.Users, MaxGeneratedUsers)
	}
	mail, name := g.Mail, g.DisplayName
	if mail == "" {
		mail = "user{n}@scale.example"
	}
	if name == "" {
		name = "Scale User {n}"
	}
	if !strings.Contains(mail, "{n}") {
		return nil, fmt.Errorf("generate: mail %q must contain {n}", mail)
	}
	out := make([]ScenarioUser, g.Users)
	for i := range out {
		out[i] = ScenarioUser{UserInput: UserInput{Mail: GeneratedName(mail, i+1, g.Users),
			DisplayName: GeneratedName(name, i+1, g.Users)}, Messages: g.Messages}
	}
	return out, nil
}

// ScenarioUser is a mailbox with its folders and messages.
type ScenarioUser struct {
	UserInput `yaml:",inline"`
	Folders   []string          `yaml:"folders"`
	Messages  []ScenarioMessage `yaml:"messages"`
}

// ScenarioMessage is a message (or Repeat copies of it) in a folder.
type ScenarioMessage struct {
	Folder string `yaml:"folder"`
	// Received sets receivedDateTime: RFC 3339, YYYY-MM-DD, or relative
	// to load time ("-3d", "-2h30m").
	Received string `yaml:"received"`
	// Repeat creates this many copies (subject suffixed " #n"), each
	// Spacing (default 1h) older than the previous one.
	Repeat      int              `yaml:"repeat"`
	Spacing     string           `yaml:"spacing"`
	Message     map[string]any   `yaml:"message"`
	Attachments []map[string]any `yaml:"attachments"`
}

// ScenarioLive is a message that arrives while the simulator runs (real
// time after start), and notifies subscribers.
type ScenarioLive struct {
	After           string `yaml:"after"` // e.g. "30s"
	Every           string `yaml:"every"` // with Count: interval between copies
	Count           int    `yaml:"count"`
	Mailbox         string `yaml:"mailbox"`
	ScenarioMessage `yaml:",inline"`
}

// LoadScenario reads a scenario file.
func LoadScenario(path string) (*Scenario, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load scenario: %w", err)
	}
	sc, err := ParseScenario(b)
	if err != nil {
		return nil, fmt.Errorf("load scenario %s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario decodes scenario YAML; unknown keys are errors.
func ParseScenario(b []byte) (*Scenario, error) {
	var sc Scenario
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&sc); err != nil {
		return nil, fmt.Errorf("parse scenario: %w", err)
	}
	return &sc, nil
}

// ApplyScenario loads users, folders, messages (without notifications),
// secrets, access policy and faults, and schedules the live messages.
func (s *Server) ApplyScenario(sc *Scenario) error {
	now := s.now()
	f := s.CurrentFaults()
	if sc.Faults != nil {
		b, err := json.Marshal(sc.Faults)
		if err != nil {
			return fmt.Errorf("scenario faults: %w", err)
		}
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return fmt.Errorf("scenario faults: %w", err)
		}
		if err := f.Delivery.validate(); err != nil {
			return fmt.Errorf("scenario faults: %w", err)
		}
	}
	if len(sc.AccessPolicy.AllowedMailboxes) > 0 {
		f.AllowedMailboxes = sc.AccessPolicy.AllowedMailboxes
	}
	s.SetFaults(f)
	for _, sec := range sc.Secrets {
		if _, err := s.AddSecret(sec); err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
	}
	noNotify := false
	users := sc.Users
	if sc.Generate != nil {
		gen, err := sc.Generate.users()
		if err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
		users = append(slices.Clip(users), gen...)
	}
	for _, su := range users {
		id, err := s.AddUser(su.UserInput)
		if err != nil {
			return fmt.Errorf("scenario: %w", err)
		}
		for _, path := range su.Folders {
			if _, err := s.CreateFolder(FolderInput{Mailbox: id, Folder: path}); err != nil {
				return fmt.Errorf("scenario user %s: %w", id, err)
			}
		}
		for i, sm := range su.Messages {
			ins, err := sm.inputs(id, now)
			if err != nil {
				return fmt.Errorf("scenario user %s message %d: %w", id, i+1, err)
			}
			for _, in := range ins {
				in.Notify = &noNotify
				if _, err := s.CreateMessage(in); err != nil {
					return fmt.Errorf("scenario user %s message %d: %w", id, i+1, err)
				}
			}
		}
	}
	for i, l := range sc.Live {
		if err := s.scheduleLive(l); err != nil {
			return fmt.Errorf("scenario live %d: %w", i+1, err)
		}
	}
	return nil
}

// inputs expands a scenario message into control-API inputs.
func (sm ScenarioMessage) inputs(mailbox string, now time.Time) ([]MessageInput, error) {
	atts, err := attachmentInputs(sm.Attachments)
	if err != nil {
		return nil, err
	}
	base := normalizeJSON(sm.Message)
	for k, v := range base {
		if sv, ok := v.(string); ok && strings.HasSuffix(k, "DateTime") {
			t, err := parseTime(sv, now)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			base[k] = formatTime(t)
		}
	}
	received := now
	if sm.Received != "" {
		if received, err = parseTime(sm.Received, now); err != nil {
			return nil, fmt.Errorf("received: %w", err)
		}
		base["receivedDateTime"] = formatTime(received)
	}
	n := max(sm.Repeat, 1)
	spacing := time.Hour
	if sm.Spacing != "" {
		if spacing, err = parseDuration(sm.Spacing); err != nil {
			return nil, fmt.Errorf("spacing: %w", err)
		}
	}
	out := make([]MessageInput, 0, n)
	for i := 0; i < n; i++ {
		m := base
		if n > 1 {
			m = make(map[string]any, len(base))
			for k, v := range base {
				m[k] = v
			}
			m["subject"] = fmt.Sprintf("%s #%d", str(base["subject"]), i+1)
			if _, ok := base["receivedDateTime"]; ok || sm.Received != "" {
				m["receivedDateTime"] = formatTime(received.Add(-time.Duration(i) * spacing))
			} else {
				m["receivedDateTime"] = formatTime(now.Add(-time.Duration(i) * spacing))
			}
			delete(m, "internetMessageId")
		}
		out = append(out, MessageInput{Mailbox: mailbox, Folder: sm.Folder, Message: m, Attachments: atts})
	}
	return out, nil
}

// attachmentInputs converts YAML attachments; "type: file|item|reference"
// is short for the @odata.type.
func attachmentInputs(raw []map[string]any) ([]AttachmentInput, error) {
	out := make([]AttachmentInput, 0, len(raw))
	for _, r := range raw {
		r = normalizeJSON(r)
		if t, ok := r["type"].(string); ok {
			if !strings.HasPrefix(t, "#") {
				t = "#microsoft.graph." + t + "Attachment"
			}
			r["@odata.type"] = t
			delete(r, "type")
		}
		b, _ := json.Marshal(r)
		var in AttachmentInput
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			return nil, fmt.Errorf("attachment: %w", err)
		}
		out = append(out, in)
	}
	return out, nil
}

// scheduleLive creates the live messages in the background (real time).
func (s *Server) scheduleLive(l ScenarioLive) error {
	after, err := parseDuration(l.After)
	if err != nil && l.After != "" {
		return fmt.Errorf("after: %w", err)
	}
	every := time.Second
	if l.Every != "" {
		if every, err = parseDuration(l.Every); err != nil {
			return fmt.Errorf("every: %w", err)
		}
	}
	if l.Mailbox == "" {
		return fmt.Errorf("mailbox is required")
	}
	ctx := s.notify.ctx
	go func() {
		t := time.NewTimer(after)
		defer t.Stop()
		for i := 0; i < max(l.Count, 1); i++ {
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			}
			ins, err := l.ScenarioMessage.inputs(l.Mailbox, s.now())
			if err != nil {
				s.log.Error("scenario live message", "error", err)
				return
			}
			for _, in := range ins {
				if _, err := s.CreateMessage(in); err != nil {
					s.log.Error("scenario live message", "error", err)
				}
			}
			t.Reset(every)
		}
	}()
	return nil
}
