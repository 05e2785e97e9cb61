//! The names a ledger keeps (`muster.names`): display names of groups and members, in one
//! file of muster's own beside sled's, apart from the log so that they can be erased.
//!
//! Owns: the names file's bytes (one sealed value: every name, sorted by id), reading it
//! whole, and replacing it whole and durably.
//! Must not: read names files given to `import names` (that is `names`), or decide whose
//! name may be kept (the ledger filters erased members before storing).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::commit::{body_config, seal, unseal, Magic};
use crate::error::{Error, Result};
use crate::model::{GroupId, MemberId, MAX_NAME_BYTES};
use crate::store::{SideFile, Store};

/// Every stored name. No blank names; none longer than [`MAX_NAME_BYTES`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredNames {
    pub groups: BTreeMap<GroupId, String>,
    pub members: BTreeMap<MemberId, String>,
}

impl StoredNames {
    /// The names file of `store`, read whole and checked; empty when there is none.
    pub fn load(store: &dyn Store) -> Result<StoredNames> {
        let Some(file) = store.open_file(SideFile::Names)? else {
            return Ok(StoredNames::default());
        };
        let place = file.describe();
        let length = usize::try_from(file.length())
            .map_err(|_| Error::corrupt(format!("{place}: too large")))?;
        let mut bytes = vec![0u8; length];
        file.read_exact_at(0, &mut bytes)?;
        StoredNames::decode(&bytes).map_err(|e| Error::corrupt(format!("{place}: {}", e.detail())))
    }

    /// Replaces the names file with these names, durably (names are not derived: nothing
    /// could restore them).
    pub fn save(&self, store: &dyn Store) -> Result<()> {
        let bytes = self.encode()?;
        store.replace_file(SideFile::Names, true, &mut |out| {
            out.write_all(&bytes).map_err(|error| {
                Error::new(
                    crate::error::ErrorKind::Io,
                    format!("writing names: {error}"),
                )
            })
        })
    }

    fn check(&self) -> Result<()> {
        let bad = |name: &String| name.is_empty() || name.len() > MAX_NAME_BYTES;
        if self.groups.values().any(bad) || self.members.values().any(bad) {
            return Err(Error::corrupt("a stored name is blank or too long"));
        }
        Ok(())
    }

    fn encode(&self) -> Result<Vec<u8>> {
        self.check()?;
        let body = bincode::serde::encode_to_vec(self, body_config())
            .map_err(|error| Error::corrupt(format!("cannot encode names: {error}")))?;
        seal(Magic::Names, &body)
    }

    fn decode(bytes: &[u8]) -> Result<StoredNames> {
        let body = unseal(Magic::Names, bytes)?;
        let (names, used): (StoredNames, usize) =
            bincode::serde::decode_from_slice(body, body_config())
                .map_err(|error| Error::corrupt(format!("names do not decode: {error}")))?;
        if used != body.len() {
            return Err(Error::corrupt("names have trailing bytes"));
        }
        names.check()?;
        Ok(names)
    }
}
