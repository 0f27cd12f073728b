# The curl examples of the CRM API's write side, run by TestCurlExamples
# against a real server: each command is preceded by "# expect STATUS".
# $API is the connector's URL, $TOKEN a write key, $READ a read key
# (TOKEN=$(connector apikey create --name crm --scope write)).

# Create or update a customer with its further domains (201 created, 200 updated/unchanged).
# expect 201
curl -sS -X PUT "$API/api/v1/customers/12" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"number":"10003","name":"Kunze AG","email":"info@kunze.de","domains":["kunze-ag.de"]}'

# The same PUT again changes nothing.
# expect 200
curl -sS -X PUT "$API/api/v1/customers/12" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"number":"10003","name":"Kunze AG","email":"info@kunze.de","domains":["kunze-ag.de"]}'

# A contact: the id in the body may be left out (it is the path's).
# expect 201
curl -sS -X PUT "$API/api/v1/contacts/101" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"customer_id":12,"name":"Karl Kunze","email":"karl@kunze.de"}'

# A contact of a customer that does not exist: 409, naming customer_id.
# expect 409
curl -sS -X PUT "$API/api/v1/contacts/102" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"customer_id":99,"name":"Nobody"}'

# A typo in a field: 400, naming the field.
# expect 400
curl -sS -X PUT "$API/api/v1/contacts/102" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"customer_id":12,"mail":"x@kunze.de"}'

# Leads and opportunities as in the import file.
# expect 201
curl -sS -X PUT "$API/api/v1/leads/1001" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"customer_id":12,"title":"Neubau Halle 3","status":"in_progress","created_at":"2026-11-02T09:00:00Z"}'

# A setting, validated as connector settings set does.
# expect 200
curl -sS -X PUT "$API/api/v1/settings/ignored_domains" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"value":["newsletter.example.com"]}'

# A template typo fails when it is set.
# expect 400
curl -sS -X PUT "$API/api/v1/settings/documents_customer_folder" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' -d '{"value":"{nmuber}"}'

# A whole import file, all or nothing (the file of connector import --crm).
# expect 200
curl -sS -X POST "$API/api/v1/import" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' --data-binary '{"customers":[{"id":13,"name":"Lange KG","email":"info@lange-kg.de"}],"contacts":[{"id":103,"customer_id":13,"name":"Lea Lange","email":"lea@lange-kg.de"}]}'

# Deleting a contact keeps its activities (their contact_id is cleared).
# expect 200
curl -sS -X DELETE "$API/api/v1/contacts/103" -H "Authorization: Bearer $TOKEN"

# A read key may not write.
# expect 403
curl -sS -X DELETE "$API/api/v1/contacts/101" -H "Authorization: Bearer $READ"

# No key: 401.
# expect 401
curl -sS -X DELETE "$API/api/v1/contacts/101"

# The OpenAPI document needs no key.
# expect 200
curl -sS "$API/api/v1/openapi.yaml"
