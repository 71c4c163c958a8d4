//! A tiny option parser: `confab-load <scenario> --name value --name=value --flag`.
//! Every option a scenario reads is marked used; `finish` rejects the rest (typos fail loudly).

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;
use std::str::FromStr;

/// Options that take no value.
const FLAGS: &[&str] = &["help", "with-direct", "graceful-drop"];

pub struct Args {
    pub scenario: Option<String>,
    values: BTreeMap<String, String>,
    flags: BTreeSet<String>,
    used: RefCell<BTreeSet<String>>,
}

impl Args {
    pub fn parse(argv: impl IntoIterator<Item = String>) -> Result<Args, String> {
        let mut it = argv.into_iter();
        let mut scenario = None;
        let mut values = BTreeMap::new();
        let mut flags = BTreeSet::new();
        while let Some(a) = it.next() {
            if a == "-h" {
                flags.insert("help".to_string());
            } else if let Some(rest) = a.strip_prefix("--") {
                let (name, inline) = match rest.split_once('=') {
                    Some((n, v)) => (n.to_string(), Some(v.to_string())),
                    None => (rest.to_string(), None),
                };
                if FLAGS.contains(&name.as_str()) {
                    if inline.is_some() {
                        return Err(format!("--{name} takes no value"));
                    }
                    flags.insert(name);
                    continue;
                }
                let value = match inline {
                    Some(v) => v,
                    None => it.next().ok_or_else(|| format!("--{name} needs a value"))?,
                };
                if values.insert(name.clone(), value).is_some() {
                    return Err(format!("--{name} given twice"));
                }
            } else if scenario.is_none() {
                scenario = Some(a);
            } else {
                return Err(format!("unexpected argument {a:?}"));
            }
        }
        Ok(Args {
            scenario,
            values,
            flags,
            used: RefCell::new(BTreeSet::new()),
        })
    }

    fn mark(&self, name: &str) {
        self.used.borrow_mut().insert(name.to_string());
    }

    pub fn flag(&self, name: &str) -> bool {
        self.mark(name);
        self.flags.contains(name)
    }

    pub fn opt<T: FromStr>(&self, name: &str) -> Result<Option<T>, String>
    where
        T::Err: Display,
    {
        self.mark(name);
        match self.values.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|e| format!("--{name} {v:?}: {e}")),
        }
    }

    pub fn get<T: FromStr>(&self, name: &str, default: T) -> Result<T, String>
    where
        T::Err: Display,
    {
        Ok(self.opt(name)?.unwrap_or(default))
    }

    pub fn req<T: FromStr>(&self, name: &str) -> Result<T, String>
    where
        T::Err: Display,
    {
        self.opt(name)?
            .ok_or_else(|| format!("--{name} is required"))
    }

    /// Every option given must have been read by the scenario.
    pub fn finish(&self) -> Result<(), String> {
        let used = self.used.borrow();
        let unknown: Vec<String> = self
            .values
            .keys()
            .chain(self.flags.iter())
            .filter(|k| !used.contains(*k))
            .map(|k| format!("--{k}"))
            .collect();
        if unknown.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "unknown option(s) for this scenario: {} (see confab-load --help)",
                unknown.join(" ")
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Args {
        Args::parse(s.split_whitespace().map(String::from)).unwrap()
    }

    #[test]
    fn values_flags_and_unknowns() {
        let a = args("fanout --rate 100 --groups=3 --with-direct");
        assert_eq!(a.scenario.as_deref(), Some("fanout"));
        assert_eq!(a.get::<u32>("rate", 1).unwrap(), 100);
        assert_eq!(a.get::<u32>("groups", 1).unwrap(), 3);
        assert!(a.flag("with-direct"));
        assert_eq!(a.get::<u32>("absent", 7).unwrap(), 7);
        assert!(a.finish().is_ok());
        let b = args("idle --sesions 5");
        assert!(b.finish().unwrap_err().contains("--sesions"));
        assert!(args("idle --n x").get::<u32>("n", 0).is_err());
    }
}
