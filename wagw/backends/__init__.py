"""Names only: `wagw.backends.base.*` are the WhatsApp call errors' names job failures show
(docs/jobs.md, "Errors"). The backends themselves are wagw.whatsapp."""
