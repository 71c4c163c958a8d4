//! Connection settings of the scylla backend. Plain data with defaults that reach a local node,
//! so the gateway can embed it in its own configuration (`[storage.scylla]`).

use scylla::statement::{Consistency, SerialConsistency};
use serde::{Deserialize, Serialize};

use crate::{StoreError, StoreResult};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ScyllaConfig {
    /// `host:port` of one or more nodes; the driver discovers the rest of the cluster.
    pub contact_points: Vec<String>,
    /// Created on first start if missing. Letters, digits and `_`, at most 48.
    pub keyspace: String,
    /// The CQL replication map used when creating the keyspace (an existing keyspace is left
    /// as it is). Keep `NetworkTopologyStrategy`: it is what both ScyllaDB and Cassandra
    /// recommend and what lets `LOCAL_*` consistency levels mean something.
    pub replication: String,
    /// `one`, `local_one`, `quorum`, `local_quorum` (the default) or `all`. Lightweight
    /// transactions use `serial` for `quorum`/`all` and `local_serial` otherwise.
    pub consistency: String,
    /// Data centre whose nodes coordinate requests (no failover to others when set). Unset:
    /// any data centre.
    pub local_datacenter: Option<String>,
    /// How long to wait for the first node when connecting.
    pub connect_timeout_secs: u64,
    /// Client-side limit on one request; keep it above the server's own timeouts (2 s writes,
    /// 5 s reads by default) so the server's more precise error arrives first.
    pub request_timeout_secs: u64,
}

impl Default for ScyllaConfig {
    fn default() -> Self {
        Self {
            contact_points: vec!["127.0.0.1:9042".into()],
            keyspace: "confab".into(),
            replication: "{'class': 'NetworkTopologyStrategy', 'datacenter1': 1}".into(),
            consistency: "local_quorum".into(),
            local_datacenter: None,
            connect_timeout_secs: 5,
            request_timeout_secs: 10,
        }
    }
}

impl ScyllaConfig {
    /// [`check`](Self::check) as a store error (what `connect` fails with).
    pub fn validate(&self) -> StoreResult<()> {
        self.check()
            .map_err(|m| StoreError::Unavailable(format!("invalid scylla config: {m}")))
    }

    /// Checks what can be checked without a cluster; the message says what is wrong. The
    /// keyspace name and the replication map end up inside CQL text (DDL cannot take bind
    /// markers), so both are checked strictly.
    pub fn check(&self) -> Result<(), String> {
        let invalid = Err;
        if self.contact_points.is_empty() || self.contact_points.iter().any(|c| c.trim().is_empty())
        {
            return invalid("contact_points must list at least one host:port".into());
        }
        let ks = &self.keyspace;
        let ks_ok = !ks.is_empty()
            && ks.len() <= 48
            && ks.starts_with(|c: char| c.is_ascii_alphabetic())
            && ks.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !ks_ok {
            return invalid(format!(
                "keyspace {ks:?}: use 1 to 48 letters, digits or '_', starting with a letter"
            ));
        }
        let r = self.replication.trim();
        if !(r.starts_with('{') && r.ends_with('}'))
            || r.contains(';')
            || r.contains("--")
            || r.contains("/*")
        {
            return invalid(format!(
                "replication {r:?}: expected a CQL map such as \
                 {{'class': 'NetworkTopologyStrategy', 'datacenter1': 3}}"
            ));
        }
        if self.consistency_level().is_err() {
            return invalid(format!(
                "consistency {:?}: use one, local_one, quorum, local_quorum or all",
                self.consistency
            ));
        }
        if self.connect_timeout_secs == 0 || self.request_timeout_secs == 0 {
            return invalid("timeouts must be at least 1 second".into());
        }
        Ok(())
    }

    pub(crate) fn consistency_level(&self) -> StoreResult<Consistency> {
        Ok(match self.consistency.to_ascii_lowercase().as_str() {
            "one" => Consistency::One,
            "local_one" => Consistency::LocalOne,
            "quorum" => Consistency::Quorum,
            "local_quorum" => Consistency::LocalQuorum,
            "all" => Consistency::All,
            other => {
                return Err(StoreError::Unavailable(format!(
                    "invalid scylla config: consistency {other:?}: use one, local_one, quorum, \
                     local_quorum or all"
                )))
            }
        })
    }

    /// Paxos scope for lightweight transactions: cluster-wide when the configured level is
    /// cluster-wide, else within the local data centre.
    pub(crate) fn serial_consistency_level(&self) -> StoreResult<SerialConsistency> {
        Ok(match self.consistency_level()? {
            Consistency::Quorum | Consistency::All => SerialConsistency::Serial,
            _ => SerialConsistency::LocalSerial,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        let c = ScyllaConfig::default();
        c.validate().unwrap();
        assert_eq!(c.consistency_level().unwrap(), Consistency::LocalQuorum);
        assert_eq!(
            c.serial_consistency_level().unwrap(),
            SerialConsistency::LocalSerial
        );
    }

    #[test]
    fn rejects_what_would_end_up_in_cql() {
        let bad = |f: fn(&mut ScyllaConfig)| {
            let mut c = ScyllaConfig::default();
            f(&mut c);
            assert!(c.validate().is_err(), "{c:?}");
        };
        bad(|c| c.keyspace = "x; DROP KEYSPACE y".into());
        bad(|c| c.keyspace = "1abc".into());
        bad(|c| c.keyspace = String::new());
        bad(|c| c.keyspace = "a".repeat(49));
        bad(|c| c.replication = "{'class': 'SimpleStrategy'}; DROP TABLE x".into());
        bad(|c| c.replication = "SimpleStrategy".into());
        bad(|c| c.consistency = "two".into());
        bad(|c| c.contact_points = vec![]);
        bad(|c| c.connect_timeout_secs = 0);
    }

    #[test]
    fn consistency_is_case_insensitive() {
        let c = ScyllaConfig {
            consistency: "QUORUM".into(),
            ..Default::default()
        };
        assert_eq!(c.consistency_level().unwrap(), Consistency::Quorum);
        assert_eq!(
            c.serial_consistency_level().unwrap(),
            SerialConsistency::Serial
        );
    }
}
