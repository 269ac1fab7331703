"""The county platform (区县教育局, DESIGN.md section 10): `edge county -c county.yaml`.

Subscribes to every school's uplink with shared subscriptions, keeps it in PostgreSQL, serves the
county API and dashboard. Imported only by `edge county`: the gateway never loads psycopg.
"""
