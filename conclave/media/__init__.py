"""Media infrastructure: the Janus SFU (client, managed process) and TURN credentials.

- ``janus``: asyncio client of the Janus HTTP API and a typed VideoRoom layer;
- ``janus_errors``: Janus error codes as typed errors with safe messages;
- ``janus_managed``: Janus as a supervised child process with a generated configuration;
- ``turn``: coturn ``use-auth-secret`` credentials and the ICE servers for a participant.
"""
