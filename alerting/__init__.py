"""Alerting and paging: the notification outbox, PagerDuty Events v2, and (to come) rules and alert states."""
