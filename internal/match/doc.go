// Package match decides whether an e-mail belongs in the CRM and to which
// customer, contact, lead and opportunity. It is pure: no database, network,
// clock or logging; the caller performs the directory look-ups between the
// two phases (Prepare, then Decide).
//
// The rules, applied in this order (DESIGN §4):
//
//  1. Folder. The top-level folder below msgfolderroot decides: a
//     well-known folder other than inbox and sentitems (junkemail,
//     deleteditems, drafts, outbox, archive, conversationhistory, clutter,
//     syncissues, …) and everything below it → ignored, reason
//     excluded_folder. Inbox, Sent Items, their subfolders and user folders
//     (and an empty path) are considered. Then isDraft → ignored, reason draft.
//  2. Direction. Inbox subtree → inbound; Sent Items subtree → outbound;
//     user folders → outbound when the sender (from, else sender; an X.500
//     sender is replaced by its SMTP extended property) is the mailbox owner
//     or one of the owner's addresses, inbound otherwise.
//  3. Candidates. Inbound: the sender. Outbound: toRecipients then
//     ccRecipients, in order. Each is normalised (package address); dropped
//     are non-SMTP addresses (X.500 DNs, garbage), the owner, other
//     employees, addresses at the company's own domains or their subdomains
//     (setting own_domains; when empty, the domains of the mailbox and the
//     employees' addresses except free-mail domains) and duplicates (the
//     first is kept). None left → ignored, reason internal.
//  4. Ignored domains. Candidates whose domain equals an ignored_domains
//     entry or is a subdomain of one are dropped. None left → ignored,
//     reason ignored_domain.
//  5. Exact contact match over all candidates in order: the first candidate
//     equal to a contact's e-mail wins; several contacts with that address →
//     lowest contact ID (ambiguous when they belong to different customers).
//     The customer is the contact's customer. Rule contact_exact.
//  6. Otherwise domain match over all candidates in order: a candidate whose
//     domain is in full_match_domains matches only customers whose e-mail
//     equals the full address (rule customer_full_address); any other
//     candidate matches customers whose e-mail domain or an extra domain
//     equals its domain (rule customer_domain). Several customers → lowest
//     customer ID, and the decision is marked ambiguous.
//  7. No hit → ignored, reason no_match. A hit → imported, reason matched.
//  8. Lead: of the customer's leads with status in_progress or deferred, the
//     oldest (created_at, then lowest ID) is linked.
//  9. Opportunity: only when opportunities_module is on; of the customer's
//     opportunities with status in_progress, the oldest (same order).
//  10. Duplicates (same internetMessageId already imported) are detected by
//     the pipeline, not here; OutcomeDuplicate names that outcome.
//
// Decision.Candidates records the normalised candidates after the drops of
// rule 3 and before those of rule 4, so an ignored_domain decision shows the
// addresses that were ignored and an internal decision shows none.
package match
