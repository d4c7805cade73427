"""Transports the host lends adapters and sinks: MQTT, HTTP ingress, sockets."""
