//! The head anchor (`muster.head`): the newest commit's head record kept outside the
//! storage engine, so that an engine that loses its newest commits is caught on open.
//!
//! Owns: reading and writing the anchor, reading the newest head from the log, and the
//! check between the two.
//! Must not: decide what to do about a mismatch beyond refusing it as damage.

use crate::error::{Error, Result};
use crate::log::commit::Commit;
use crate::log::head::key_seq;
use crate::log::head::seq_key;
use crate::log::head::{decode_head, encode_head, Head};
use crate::storage::store::{Space, Store};

/// The newest commit's number and hash, read from the log itself (the slow way: it decodes
/// the whole commit).
pub(crate) fn head_from_log(store: &dyn Store) -> Result<Option<Head>> {
    let Some((key, bytes)) = store.last(Space::Log)? else {
        return Ok(None);
    };
    let seq = key_seq(&key)?;
    let (commit, hash) = Commit::decode(&bytes)
        .map_err(|e| Error::corrupt(format!("commit {seq}: {}", e.detail())))?;
    if commit.seq != seq {
        return Err(Error::corrupt(format!(
            "commit {seq}: stored under the wrong key (it says {})",
            commit.seq
        )));
    }
    Ok(Some(Head { seq, hash }))
}

pub(crate) fn write_anchor(store: &dyn Store, head: Head) -> Result<()> {
    store.write_anchor(&encode_head(head)?)
}

pub(crate) fn read_anchor(store: &dyn Store) -> Result<Option<Head>> {
    let Some(bytes) = store.read_anchor()? else {
        return Ok(None);
    };
    decode_head(&bytes)
        .map(Some)
        .map_err(|e| Error::corrupt(format!("the head anchor is damaged: {}", e.detail())))
}

/// Compares the log's newest commit with the anchor kept outside the storage engine. The
/// log may be one commit ahead (a crash between the commit's flush and the anchor's
/// write); it may never be behind, or disagree about the anchored commit's hash.
pub(crate) fn check_anchor(
    store: &dyn Store,
    head: Option<Head>,
    anchor: Option<Head>,
) -> Result<()> {
    let Some(anchor) = anchor else {
        return Ok(());
    };
    let head_seq = head.map_or(0, |head| head.seq);
    if head_seq < anchor.seq {
        return Err(Error::corrupt(format!(
            "the log ends at commit {head_seq}, but commit {} was written and flushed: the \
             storage engine lost commits; restore from a copy (muster export log)",
            anchor.seq
        )));
    }
    let anchored_hash = match head {
        Some(head) if head.seq == anchor.seq => head.hash,
        _ => match store.get(Space::Heads, &seq_key(anchor.seq))? {
            Some(bytes) => {
                decode_head(&bytes)
                    .map_err(|e| {
                        Error::corrupt(format!("head record {}: {}", anchor.seq, e.detail()))
                    })?
                    .hash
            }
            None => {
                let bytes = store
                    .get(Space::Log, &seq_key(anchor.seq))?
                    .ok_or_else(|| Error::corrupt(format!("commit {} is missing", anchor.seq)))?;
                Commit::decode(&bytes)
                    .map_err(|e| Error::corrupt(format!("commit {}: {}", anchor.seq, e.detail())))?
                    .1
            }
        },
    };
    if anchored_hash != anchor.hash {
        return Err(Error::corrupt(format!(
            "commit {} is not the commit that was written (its hash differs from the head \
             anchor): the log was altered",
            anchor.seq
        )));
    }
    Ok(())
}
