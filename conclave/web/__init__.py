"""HTTP and WebSocket endpoints: parse, check the session, call a service, render."""
