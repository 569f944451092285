"""The web function: customer portal (and later the agent console) as one Starlette app."""
