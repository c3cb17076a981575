-- Alert rules of kind `planning` (core/alerts.py): a planning request that concerns the rule's
-- owner fires a notification (and its webhook) when made and clears it when closed.
ALTER TABLE alert_rule DROP CONSTRAINT alert_rule_kind_check;
ALTER TABLE alert_rule ADD CONSTRAINT alert_rule_kind_check
    CHECK (kind IN ('threshold', 'status', 'stale', 'planning'));
