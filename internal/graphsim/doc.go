// Package graphsim is a stand-in for Microsoft Graph and Entra ID: a real
// HTTPS server that speaks their JSON for the subset the connector uses, and
// that pushes change notifications and lifecycle events to subscribers.
// Tests run it in-process (Start, or New + httptest.NewTLSServer); the
// demo, the load generator and the fault suite run cmd/graphsim.
//
// # In-process use
//
//	rs, err := graphsim.Start("", graphsim.Options{TenantID: t, ClientID: c, ClientSecret: s})
//	defer rs.Close()
//	// authority: rs.URL (+"/"+tenant), Graph: rs.GraphURL(),
//	// trust: rs.CA.PEM() / rs.CA.CertPool() / rs.CA.Client()
//
// Options.NotifyClient must trust the subscriber's certificate (for an
// httptest.NewTLSServer subscriber: its Client()). Options.Now injects the
// clock; AdvanceClock (or POST /_sim/clock) moves it on.
//
// # Entra ID
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration   issuer = https://HOST/{tenant}/v2.0
//	GET  /common/discovery/instance                         MSAL instance discovery
//	POST /{tenant}/oauth2/v2.0/token                        client_credentials, scope …/.default
//
// Wrong secret: 401 invalid_client AADSTS7000215; expired (or not yet
// valid) secret: 401 invalid_client AADSTS7000222; unknown client: 400
// unauthorized_client AADSTS700016; unknown tenant: 400 AADSTS90002.
// Certificate credentials: a client_assertion (client_assertion_type
// urn:ietf:params:oauth:client-assertion-type:jwt-bearer) is a JWT signed
// RS256 or PS256 with the key of a certificate registered for the app
// (AddCertificate, POST /_sim/certificates), named by its x5t (SHA-1) or
// x5t#S256 thumbprint; aud must be the token endpoint, iss and sub the
// client ID, exp not past (wall clock, 5 min skew). Unknown certificate or
// bad signature or a certificate outside its validity (simulated clock):
// 401 invalid_client AADSTS700027; wrong aud AADSTS50012; iss/sub not the
// client_id AADSTS700021; expired assertion AADSTS700024; neither secret
// nor assertion AADSTS7000218.
//
// Access tokens are HMAC-signed JWT-shaped strings valid for 3599 s of wall
// time (not simulated time, so advancing the clock never breaks a token a
// client has cached). Graph requests without a valid token: 401
// InvalidAuthenticationToken.
//
// # Graph (under /v1.0)
//
//	GET /users/{id|upn}
//	GET /users?$filter=mail eq '…' | userPrincipalName eq '…' | proxyAddresses/any(x:x eq 'smtp:…')
//	GET /users/{u}/mailFolders                               children of msgfolderroot
//	GET /users/{u}/mailFolders/{id|wellKnownName}
//	GET /users/{u}/mailFolders/{f}/childFolders[?includeHiddenFolders=true]
//	GET /users/{u}[/mailFolders/{f}]/messages                $top (10, ≤1000), $skip, $select, $expand,
//	                                                         $filter=receivedDateTime ge|gt T, $orderby=receivedDateTime [asc|desc]
//	GET /users/{u}[/mailFolders/{f}]/messages/{id}           $select, $expand=singleValueExtendedProperties($filter=id eq '…')
//	GET /users/{u}[/mailFolders/{f}]/messages/{id}/$value    MIME
//	GET …/messages/{id}/attachments[/{aid}[/$value]]
//	GET /users/{u}/mailFolders/{f}/messages/delta            also delta(); $filter=receivedDateTime ge|gt T (first round:
//	                                                         at most 5,000, unordered unless $orderby=receivedDateTime desc), $select, $expand,
//	                                                         $top (caps the round),
//	                                                         Prefer: odata.maxpagesize=N (default 10, max 1000)
//	POST/GET /subscriptions, GET/PATCH/DELETE /subscriptions/{id}, POST /subscriptions/{id}/reauthorize
//	GET /applications(appId='{clientId}'), GET /applications?$filter=appId eq '{clientId}'
//
// Every response carries request-id and client-request-id; Prefer
// IdType="ImmutableId", odata.maxpagesize and outlook.body-content-type are
// echoed in Preference-Applied. A message has an immutable ID and a regular
// one; responses carry the immutable ID when the request has Prefer:
// IdType="ImmutableId", else the regular one, and notifications the format
// of the subscription's creation request. A move keeps the immutable ID and
// gives a new regular ID (the old one answers 404 ErrorItemNotFound), as
// Exchange does; either ID names a message in a request. Bodies are HTML
// unless Prefer: outlook.body-content-type="text" (then text, HTML rendered
// as plain text). Request bodies may be gzip-compressed (msgraph-sdk-go does that).
// Path keywords are case-insensitive; IDs are not. Graph paths name a
// user by ID or userPrincipalName only; any other user (an unknown one, or
// a mail address that is not the UPN) answers 404 ErrorInvalidUser "The
// requested user '…' is invalid." (POST /subscriptions: 404 ExtensionError
// with that reason; GET /users/{x}: 404 Request_ResourceNotFound). Users
// exist once a scenario or a control call created them: POST /_sim/users
// (mail and userPrincipalName may differ), or POST /_sim/messages and the
// other control calls, which create a mailbox on first use with the
// well-known folders (msgfolderroot with inbox, sentitems, drafts,
// deleteditems, junkemail, outbox, archive, conversationhistory, and the
// hidden syncissues, clutter, scheduled, …): a GUID becomes the user's ID,
// anything else its mail and UPN (the ID is then derived from it, stable
// across runs).
//
// Subscriptions: resource /users/{u}/messages, /users/{u}/mailFolders('x')/messages
// or /users/{u}/mailFolders/{id}/messages (a display name fails with 400
// ExtensionError, as in Graph). Creation validates notificationUrl and then
// lifecycleNotificationUrl (POST ?validationToken=…, 200 + the token as the
// body within Options.ValidationTimeout, default 10 s) else 400
// ValidationError "Subscription validation request failed…"; no answer in
// time is 400 InvalidRequest "Subscription validation request timed out.".
// URLs must be https (http on loopback only with AllowHTTPNotify); expiry
// more than 10,070 minutes ahead (the live service's ceiling, below the
// documented 10,080) or in the past is 400 ExtensionError, less than 45
// minutes is raised to 45; clientState ≤ 128 characters, else 400. A mailbox holds at most 1,000
// subscriptions of all apps; the next is 403 ExtensionError "…Maximum number
// of subscriptions has been reached]". Subscriptions past their expiry (by
// the simulated clock) are removed. Notifications ("created" for new
// messages and moves into a covered folder; "deleted" and "updated" when
// subscribed) are POSTed as {"value":[…]} in Graph's shape, several pending
// items of one subscription batched in one POST; non-2xx and timeouts
// (Options.NotifyTimeout, default 3 s) are retried with backoff
// (Options.NotifyRetry, default 6 attempts over about a minute), then
// counted as failed.
//
// # Control API (no auth, same server; {id} is either ID of a message)
//
//	POST   /_sim/messages            {"mailbox":"anna@x.de","folder":"inbox","message":{…Graph message…},
//	                                  "attachments":[…],"notify":true} → 201 {"id" (immutable),"restId","mailbox","parentFolderId","internetMessageId"}
//	PATCH  /_sim/messages/{id}       {…fields…} merged into the message → 204, notifies "updated"
//	POST   /_sim/messages/{id}/move  {"folder":"deleteditems"} → 200 {"id" (immutable, kept),"previousId","restId" (new),"previousRestId"};
//	                                  notifies "deleted" (old place) and "created" (new place)
//	DELETE /_sim/messages/{id}       → 204
//	POST   /_sim/folders             {"mailbox","folder":"inbox/Sub"} or {"mailbox","parent":"inbox","displayName","isHidden"} → 201 mailFolder
//	POST   /_sim/users               {"id","displayName","mail","userPrincipalName"} → 201 {"id"}
//	POST   /_sim/lifecycle           {"mailbox","event":"missed"|"subscriptionRemoved"|"reauthorizationRequired","subscriptionId"?} → 200 {"sent":n}
//	GET    /_sim/faults, POST /_sim/faults   Faults JSON (fields below), merged; {"reset":true,…} starts from none
//	POST   /_sim/secrets             {"add":{"secretText","displayName","startDateTime","endDateTime"},"expire":ref,"remove":ref}
//	                                  (ref = keyId, secret text or display name) → 200 {"secrets":[…]}
//	POST   /_sim/certificates        {"add":{"pem","displayName","startDateTime","endDateTime"},"remove":ref}
//	                                  (pem: the certificate's public part; ref = keyId, thumbprint or display name)
//	                                  → 200 {"certificates":[{"keyId","displayName","thumbprint",…}]}
//	POST   /_sim/clock               {"advance":"90m"|"7d"|"1d12h"} → 200 {"now"}
//	POST   /_sim/delta/expire        {"mailbox"?} → every delta/skip token (of the mailbox) answers 410 SyncStateNotFound
//	GET    /_sim/stats               the counters of /_sim/state (requests by status, notifications), user and
//	                                  subscription counts, without the tenant (cheap with thousands of users)
//	GET    /_sim/state               users (folders with paths and counts, message counts), subscriptions (expiry,
//	                                  per-subscription counters), notifications {delivered, failed, dropped, retries,
//	                                  duplicates, lifecycleDelivered, lifecycleFailed, delayed, notFoundAfterCreated,
//	                                  inFlight},
//	                                  requests {graph, byStatus},
//	                                  secrets, faults
//
// Message fields the simulator fills when absent: id, internetMessageId,
// receivedDateTime (now), sentDateTime/createdDateTime/lastModifiedDateTime
// (= received), conversationId, isDraft (true in Drafts), isRead, importance,
// bodyPreview, webLink; always set: parentFolderId, changeKey, @odata.etag,
// hasAttachments (true when a non-inline attachment exists).
// singleValueExtendedProperties are stored and returned only under $expand.
//
// Folder references ("folder"): a folder ID, a well-known name, or a path
// "inbox/Sub/Folder" / "My Folder/Sub" (display names, case-insensitive);
// a first segment that is not well-known is a user folder under
// msgfolderroot; missing folders are created.
//
// Attachments: {"@odata.type":"#microsoft.graph.fileAttachment" (default)
// | "#microsoft.graph.itemAttachment" | "#microsoft.graph.referenceAttachment",
// "name","contentType","contentBytes":base64 | "size":N (synthesises
// SyntheticContent(name, N), never held in memory),"isInline","contentId",
// "item":{…message…} (itemAttachment: $value is its MIME),"sourceUrl"
// with "exposeSourceUrl":true (referenceAttachment: v1.0 documents no
// sourceUrl, so without the opt-in it is not sent; $value answers 405)}. Attachments above 3 MB come
// without contentBytes.
//
// Faults (POST /_sim/faults, scenario "faults"):
//
//	latencyMs               delay per Graph request (held inside the concurrency slot)
//	concurrencyLimit        concurrent Graph requests per mailbox before 429 (0 = 4, <0 = off)
//	throttleEveryN          every Nth Graph request answers 429 (a "429 storm")
//	retryAfterSeconds       Retry-After of 429s (default 1)
//	retryAfter              Retry-After of 429s verbatim, e.g. "2.128" as Graph sends it (wins)
//	allowedMailboxes        access policy: others get 403 ErrorAccessDenied (empty = all)
//	deltaTokenTtlSeconds    nextLinks and deltaLinks older than this (simulated clock) answer 410 SyncStateNotFound
//	duplicateNotifications  send every notification POST N times
//	reorderNotifications    collect for reorderWindowMs (default 200) and send one POST each, newest first
//	dropNotifications       drop the next N notifications (-1 = all)
//	missedAfterDrop         send a "missed" lifecycle event after dropping (and after retryWindow ran out)
//
// Delivery as Graph does it (delivery.go; all off by default). Durations are
// Graph's ("90s", "4h", "1d"); a span "lo-hi" draws at random per
// notification or message; timeScale compresses them all for tests:
//
//	timeScale               multiply every delivery duration (0.001: 4 h take 14.4 s; 0 = 1)
//	notifyLatency           hold each change notification "45s" or "20s-3m" (random spans reorder them)
//	duplicateRate           0–1: chance that a notification is delivered once more, in its own POST,
//	duplicateDelay            this much later (default "0s-30s")
//	notFoundAfterCreated    a new message answers 404 ErrorItemNotFound (and is absent from delta) this
//	notFoundFolders           long after its "created" notification (simulated clock), in these folders only (e.g. ["sentitems"])
//	retryWindow             failed POSTs retried on Graph's schedule: after retryFirst (default "10m"),
//	retryFirst                doubling, the last at the window's end ("4h"), then dropped (failed)
//
// Graph's documented behaviour behind them: notifications arrive in under a
// minute on average and at most about 3 minutes late; duplicates are
// common; the Sent Items copy of a sent mail may not be readable at once;
// failed deliveries are retried "at exponential backoff intervals" for up
// to 4 hours (https://learn.microsoft.com/graph/change-notifications-delivery-webhooks,
// "HTTP codes and retry logic"). GET /_sim/state counts delayed
// notifications and late messages (delayed, notFoundAfterCreated) and the
// deliveries still to come (inFlight: held, late duplicates, retries), so
// that a test can wait until the simulator has nothing more to send.
//
// 429s carry {"error":{"code":"ApplicationThrottled","message":"Application
// is over its MailboxConcurrency limit.",…}} and Retry-After.
//
// # Scenario files (--scenario FILE, LoadScenario + ApplyScenario)
//
// YAML; unknown keys are errors. Times are RFC 3339, YYYY-MM-DD, "now", or
// relative to load time: "-3d", "+10d", "-2h30m". Scenario messages are
// stored without notifications; "live" messages arrive later and notify.
//
//	users:
//	  - id: 4c1a7b1e-…            # optional; default derived from the UPN
//	    displayName: Anna Berger
//	    mail: anna.berger@dedenet.de
//	    userPrincipalName: anna.berger@dedenet.de   # default: mail; may differ (a.berger@dedenet.onmicrosoft.com)
//	    proxyAddresses: [anna@dedenet.de]            # optional aliases
//	    folders: ["inbox/Kunden/Müller Bau", "Projekte"]
//	    messages:
//	      - folder: inbox            # folder reference as in the control API (default inbox)
//	        received: -3d            # receivedDateTime; "…DateTime" fields in message may be relative too
//	        repeat: 100              # optional copies, subject suffixed " #n",
//	        spacing: 1h              #   each this much older (default 1h)
//	        message: {subject: …, from: {emailAddress: {name: …, address: …}}, toRecipients: [...], body: {...}}
//	        attachments:
//	          - {type: file, name: a.pdf, contentType: application/pdf, size: 248311}   # type: file|item|reference
//	          - {type: reference, name: Plan, sourceUrl: "https://…", exposeSourceUrl: true}  # opt in to a sourceUrl
//	accessPolicy:
//	  allowedMailboxes: [anna.berger@dedenet.de]
//	secrets:
//	  - current: true              # the --client-secret: set its dates/name
//	    displayName: prod
//	    startDateTime: -350d
//	    endDateTime: +10d
//	  - displayName: old           # another secret (secretText optional)
//	    endDateTime: -5d
//	faults: {latencyMs: 20}        # as POST /_sim/faults
//	live:
//	  - mailbox: anna.berger@dedenet.de
//	    after: 30s                 # real time after start
//	    count: 10                  # optional repeats,
//	    every: 2s                  #   this far apart
//	    folder: inbox
//	    message: {subject: Neue Anfrage, from: {emailAddress: {address: kunde@example.com}}}
//	generate:                      # many alike users without listing them (the scale bench)
//	  users: 10000                 # user00001@scale.example … user10000@scale.example
//	  mail: "user{n}@scale.example"  # {n}: the number, zero-padded to ≥ 5 digits (default shown)
//	  displayName: "Scale User {n}"  # (default shown)
//	  messages: [...]              # as a user's messages, given to every generated user
//
// testdata/small.yaml is a complete example.
package graphsim
