"""supportdesk: the domain package of the support-ticket system.

Domain functions take the table, buckets and clients they need as arguments and never
read the environment; ``supportdesk.config`` is the one place that does.
"""
