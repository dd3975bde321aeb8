"""go-whatsapp-web-multidevice's REST API (v9.2.0) over wagw's jobs, so that an app written
against it changes only its base URL.

- `model`: what a row of the table says; `table`: the rows, one per operation of that API.
- `requests`: a request as the job's arguments; `results`: a job's result as that API's.
- `answers`: outcomes as that API's status and error codes; `routes`: the generated routes.
- `docs`: docs/api-gowa.md and its JSON table, generated from the rows.
"""
