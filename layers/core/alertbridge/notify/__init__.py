"""Notifications: what an incident event becomes on each channel kind, whether a channel wants it,
and how it is sent. Pure except ``notify.http``, the one module that does (non-AWS) I/O."""
