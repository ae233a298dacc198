-- Helper macros that rule queries share; the runner creates them on its connection.

-- A scope is high-risk when one of its parts (split on . : / _ -) is in `words`, or when
-- `words` contains '*' and the scope holds a wildcard anywhere.
CREATE OR REPLACE TEMP MACRO is_high_risk_scope(scope, words) AS
    list_has_any(regexp_split_to_array(lower(scope), '[.:/_-]'), words)
    OR (list_contains(words, '*') AND contains(scope, '*'));

-- ISO-8601 text in UTC, for explanations and details.
CREATE OR REPLACE TEMP MACRO iso_utc(ts) AS
    strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%SZ');

-- Principal types that act on machine authority rather than a delegated user's.
CREATE OR REPLACE TEMP MACRO is_machine_principal(principal_type) AS
    principal_type IN ('service_account', 'workload', 'agent');

-- The text form of window bounds inside alert ids and content hashes: UTC, microseconds.
-- detections.ids.alert_time_text produces the same text in Python.
CREATE OR REPLACE TEMP MACRO alert_time_text(ts) AS
    strftime(ts AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%fZ');
