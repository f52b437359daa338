"""DashAI's endpoint and job sequences replayed as an API process and a worker process.

``api`` holds the endpoint handlers (plain dicts in, DashAI-shaped dicts out), ``worker``
the jobs, run by ``python -m dashai_flows.worker`` in a real subprocess on the same home
(and the same PostgreSQL schema), ``queue`` the JSON-lines file between the two.
"""
