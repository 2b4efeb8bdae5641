"""The data-protection policy in force: the configuration file's values, overridden by
what administrators set in the policy console (``policy_settings`` table)."""
