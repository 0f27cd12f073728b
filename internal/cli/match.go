package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/dedesales/exchange-connector/internal/address"
	"github.com/dedesales/exchange-connector/internal/crmfile"
	"github.com/dedesales/exchange-connector/internal/match"
	"github.com/dedesales/exchange-connector/internal/model"
	"github.com/dedesales/exchange-connector/internal/store"
	"github.com/dedesales/exchange-connector/internal/subject"
	"github.com/spf13/cobra"
)

// matchCase is the CASE.json of `connector match`: one message as Graph
// returns it, the mailbox it is in and its folder path below msgfolderroot.
type matchCase struct {
	Mailbox string            `json:"mailbox"`
	Folder  []model.FolderRef `json:"folder"`
	Message *model.Message    `json:"message"`
}

func (a *app) matchCommand() *cobra.Command {
	var crmPath, casePath string
	cmd := &cobra.Command{
		Use:   "match --crm CRM.json --case CASE.json",
		Short: "Decide offline where one e-mail belongs, with the connector's matching rules; prints JSON",
		Long: "Runs the matching rules (DESIGN §4) against a CRM export without a database and prints the\n" +
			"decision as JSON. CASE.json: {\"mailbox\":\"owner@firma.de\",\"folder\":[{\"wellKnownName\":\"inbox\"},\n" +
			"{\"displayName\":\"Kunde A\"}],\"message\":{…a Graph message…}}.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			crm, err := crmfile.ReadFile(crmPath)
			if err != nil {
				return err
			}
			c, err := readCase(casePath)
			if err != nil {
				return err
			}
			settings, err := crmSettings(crm)
			if err != nil {
				return fmt.Errorf("%s: %w", crmPath, err)
			}
			dir := match.NewDirectory(crm.Employees, crm.Customers, crm.Contacts, crm.Leads, crm.Opportunities)
			rules := match.NewRules(settings, dir.EmployeeAddresses())
			d := match.Match(&match.Input{Message: *c.Message, Mailbox: c.Mailbox, Folder: c.Folder, Rules: rules}, dir)
			out, err := decisionJSON(d, subject.Base(c.Message.Subject))
			if err != nil {
				return err
			}
			_, err = a.stdout.Write(out)
			return err
		},
	}
	cmd.Flags().StringVar(&crmPath, "crm", "", "the CRM export (JSON, as for import)")
	cmd.Flags().StringVar(&casePath, "case", "", "the case: mailbox, folder path and Graph message (JSON)")
	_ = cmd.MarkFlagRequired("crm")
	_ = cmd.MarkFlagRequired("case")
	return cmd
}

func readCase(path string) (*matchCase, error) {
	f, err := openInput(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var c matchCase
	dec := json.NewDecoder(f)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%s: malformed case: %w", path, err)
	}
	switch {
	case c.Message == nil:
		return nil, fmt.Errorf("%s: message: missing", path)
	case c.Mailbox == "":
		return nil, fmt.Errorf("%s: mailbox: missing", path)
	}
	if _, ok := address.Normalize(c.Mailbox); !ok {
		return nil, fmt.Errorf("%s: mailbox %q: not an e-mail address", path, c.Mailbox)
	}
	return &c, nil
}

// crmSettings reads the settings of a CRM file the way import stores them;
// absent keys take the shipped defaults.
func crmSettings(crm *crmfile.File) (model.Settings, error) {
	values := map[string]string{}
	for key, raw := range crm.Settings {
		v, err := store.ParseSetting(key, string(raw))
		if err != nil {
			return model.Settings{}, fmt.Errorf("settings: %w", err)
		}
		values[key] = v
	}
	return store.DecodeSettings(values)
}

// decisionJSON is the decision followed by the message's base subject.
func decisionJSON(d match.Decision, normalizedSubject string) ([]byte, error) {
	b, err := json.Marshal(d)
	if err != nil {
		return nil, err
	}
	s, err := json.Marshal(normalizedSubject)
	if err != nil {
		return nil, err
	}
	if !bytes.HasSuffix(b, []byte("}")) {
		return nil, errors.New("decision did not marshal as an object")
	}
	b = append(b[:len(b)-1], `,"normalized_subject":`...)
	b = append(append(b, s...), '}')
	var out bytes.Buffer
	if err := json.Indent(&out, b, "", "  "); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func (a *app) subjectCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "subject TEXT",
		Short: "Print the base subject (RFC 5256 plus localized prefixes such as AW:, WG:, SV:)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			base := subject.Base(args[0])
			if !asJSON {
				_, err := fmt.Fprintln(a.stdout, termSafe(base))
				return err
			}
			enc := json.NewEncoder(a.stdout)
			enc.SetEscapeHTML(false)
			return enc.Encode(map[string]string{"subject": args[0], "base_subject": base, "key": subject.Key(args[0])})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print {subject, base_subject, key} as JSON")
	return cmd
}
