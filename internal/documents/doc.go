// Package documents files e-mail attachments into a customer's documents
// (DESIGN.md §5): Layout decides where every file goes, a Store writes it.
//
// # Layout
//
// Files go to
//
//	{root}/{customer folder}/E-Mail Attachments/{thread folder}/[{mail folder}/]{file}
//
// The thread folder is "YYYY-MM-DD {base subject}" with the date of the
// first mail of the thread that had attachments filed; it is never renamed
// (a later mail with an earlier date, a changed customer folder template or
// subject case keep using the folder the history points to). While the
// thread has files from one mail, they lie directly in the thread folder.
// When a second mail with attachments joins, every mail gets its own
// subfolder "YYYY-MM-DD HH.MM {sender}" and the files lying in the thread
// folder move into their mail's subfolder (Plan.Moves). Names are sanitised
// by SanitizeName and SanitizeFolder and numbered " (2)", " (3)" … before
// the extension on a collision (compared case-insensitively, as Windows and
// macOS sync clients do). A file attachment of a blocked type (Request.Blocked,
// the setting documents_blocked_extensions) gets BlockedSuffix, and a cloud
// link becomes a .url file only through InternetShortcut, which accepts
// plain http and https addresses only.
//
// # How the caller must use Layout
//
// Layout is a pure function of its Request; it is deterministic, so a
// retried job computes the same Plan from the same history. The caller (the
// attachment job) must:
//
//  1. Serialise per customer and thread: hold a lock on (customer ID,
//     subject.Key(base subject)) from reading the history until the last
//     file is recorded, so that two mails of a thread arriving at once are
//     filed one after the other (an asynq queue with one task per key, or a
//     database advisory lock). Without it both see a thread with one mail
//     and neither creates subfolders.
//  2. Load the history: every mail of the customer with the same
//     subject.Key that has filed files, with the files' current paths.
//     Include the mail itself if an earlier attempt filed some of its files.
//  3. Call Layout, then do Plan.Moves in order with Store.Move, recording
//     each file's new path right after its move (Move is idempotent, so a
//     crash between the two is repaired by the next attempt).
//  4. For each placement not Skipped: Stat the path. If a file with the
//     attachment's size and SHA-256 is there, record it and go on (a crash
//     after Put). If a different file is there that is not recorded as the
//     thread's own, add the path to Request.Taken and call Layout again (it
//     numbers around it; same input, same answer). Else stream the content
//     with Store.Put and record the path.
//
// # Stores
//
// Open returns the Store for a CONNECTOR_DOCUMENTS_URL: a local directory
// (file:///abs/dir, see NewLocal) or Nextcloud WebDAV (https://host/remote.php/dav/files/{user}/…,
// see NewWebDAV). Paths given to a Store are slash-separated and relative to
// its base; "." and ".." segments are refused.
package documents
