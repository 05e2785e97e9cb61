//! Writing the derived-state file: the next version after a commit (untouched blocks
//! copied as raw bytes, touched states encoded), or a whole file at once from a fold.
//!
//! Owns: laying out blocks, directories, the imports register and the header on write.
//! Must not: decide what a state holds (that is `projection`); the bytes are described in
//! `docs/format.md`.

use std::io::SeekFrom;

use crate::error::{Error, Result};
use crate::log::hash::Hash;
use crate::log::seal::{seal, Magic};
use crate::model::MAX_DIRECTORY_ENTRIES;
use crate::projection::fold::{FlatFact, Side as FoldSide, SortedFold};
use crate::projection::Projection;
use crate::storage::block::{self, BlockWriter};
use crate::storage::derived::{
    DerivedFile, Directory, DirectoryEntry, Header, Side, HEADER_BYTES, IMPORT_ENTRY_BYTES,
    MAX_COPY_BYTES,
};
use crate::storage::store::FileWriter;

/// Writes the next derived-state file into `out`: the states of `previous` (when there is
/// one), with those `changes` holds replaced or added, tagged with commit `applied_through`
/// and its `hash`. Unchanged blocks are copied without decoding.
pub fn write(
    out: &mut dyn FileWriter,
    previous: Option<&DerivedFile>,
    changes: &Projection,
    applied_through: u64,
    hash: Hash,
) -> Result<()> {
    out.write_all(&[0u8; HEADER_BYTES as usize])
        .map_err(write_error)?;
    let mut position = HEADER_BYTES;
    let groups = write_next_side(
        out,
        &mut position,
        previous,
        Side::Groups,
        changes.changed_groups().map(|(group, state)| {
            state.check(group)?;
            Ok((group.as_str(), block::encode_group(state)?))
        }),
    )?;
    let members = write_next_side(
        out,
        &mut position,
        previous,
        Side::Members,
        changes.changed_members().map(|(member, state)| {
            state.check(member)?;
            Ok((member.as_str(), block::encode_member(state)?))
        }),
    )?;
    let mut imports = previous.map_or(Ok(Vec::new()), |file| {
        file.imports().map(|imports| imports.as_ref().clone())
    })?;
    imports.extend_from_slice(&changes.recorded);
    finish_file(
        out,
        position,
        [groups, members],
        imports,
        applied_through,
        hash,
    )
}

/// An imports register from fingerprints as commits recorded them: sorted by
/// fingerprint, each with the first commit that recorded it.
pub fn register(mut imports: Vec<(Hash, u64)>) -> Vec<(Hash, u64)> {
    imports.sort_unstable();
    imports.dedup_by_key(|(fingerprint, _)| *fingerprint);
    imports
}

/// One side's blocks, encoded back to back, and each one's length.
pub struct EncodedBlocks {
    pub bytes: Vec<u8>,
    pub lengths: Vec<u32>,
}

/// Writes a whole derived-state file from blocks already encoded: per side (groups, then
/// members), the ids in order and one buffer holding their blocks back to back with each
/// block's length.
pub fn write_whole(
    out: &mut dyn FileWriter,
    sides: [(&[&str], EncodedBlocks); 2],
    imports: Vec<(Hash, u64)>,
    applied_through: u64,
    hash: Hash,
) -> Result<()> {
    out.write_all(&[0u8; HEADER_BYTES as usize])
        .map_err(write_error)?;
    let mut position = HEADER_BYTES;
    let mut directories = [vec![0u8; 4], vec![0u8; 4]];
    for ((ids, EncodedBlocks { bytes, lengths }), directory) in
        sides.into_iter().zip(&mut directories)
    {
        out.write_all(&bytes).map_err(write_error)?;
        let count = u32::try_from(ids.len())
            .ok()
            .filter(|count| *count as usize <= MAX_DIRECTORY_ENTRIES)
            .ok_or_else(|| Error::new(crate::error::ErrorKind::Limit, "too many ids"))?;
        directory[0..4].copy_from_slice(&count.to_be_bytes());
        for (id, length) in ids.iter().zip(lengths) {
            push_entry(directory, id, position, length);
            position += u64::from(length);
        }
    }
    finish_file(out, position, directories, imports, applied_through, hash)
}

fn write_error(error: std::io::Error) -> Error {
    Error::new(
        crate::error::ErrorKind::Io,
        format!("writing derived state: {error}"),
    )
}

/// One directory entry: the id's length and bytes, the block's offset and length.
fn push_entry(directory: &mut Vec<u8>, id: &str, offset: u64, length: u32) {
    // Ids are validated newtypes of at most MAX_ID_BYTES (64) bytes.
    directory.push(id.len() as u8);
    directory.extend_from_slice(id.as_bytes());
    directory.extend_from_slice(&offset.to_be_bytes());
    directory.extend_from_slice(&length.to_be_bytes());
}

/// Writes the two directories and the imports register at `position` (the end of the
/// blocks), then the header. `imports` may repeat a fingerprint: the first commit to
/// record it is kept.
fn finish_file(
    out: &mut dyn FileWriter,
    mut position: u64,
    directories: [Vec<u8>; 2],
    mut imports: Vec<(Hash, u64)>,
    applied_through: u64,
    hash: Hash,
) -> Result<()> {
    let imports = register(std::mem::take(&mut imports));
    let mut register = Vec::with_capacity(4 + imports.len() * IMPORT_ENTRY_BYTES);
    // One entry per commit at most, and commits are far fewer than u32::MAX.
    register.extend_from_slice(&(imports.len() as u32).to_be_bytes());
    for (fingerprint, seq) in &imports {
        register.extend_from_slice(fingerprint);
        register.extend_from_slice(&seq.to_be_bytes());
    }
    let [groups, members] = directories;
    let mut places = [(0u64, 0u32); 3];
    for ((magic, body), place) in [
        (Magic::Directory, groups),
        (Magic::Directory, members),
        (Magic::Imports, register),
    ]
    .iter()
    .zip(&mut places)
    {
        let sealed = seal(*magic, body)?;
        out.write_all(&sealed).map_err(write_error)?;
        let length = u32::try_from(sealed.len())
            .map_err(|_| Error::new(crate::error::ErrorKind::Limit, "a directory is too large"))?;
        *place = (position, length);
        position += u64::from(length);
    }
    let header = Header {
        applied_through,
        hash,
        groups: places[0],
        members: places[1],
        imports: places[2],
    };
    out.seek(SeekFrom::Start(0)).map_err(write_error)?;
    out.write_all(&header.encode()).map_err(write_error)?;
    out.seek(SeekFrom::Start(position)).map_err(write_error)?;
    Ok(())
}

/// [`write_side`] for `side` of the previous file, if any.
fn write_next_side<'a>(
    out: &mut dyn FileWriter,
    position: &mut u64,
    previous: Option<&DerivedFile>,
    side: Side,
    changed: impl Iterator<Item = Result<(&'a str, Vec<u8>)>>,
) -> Result<Vec<u8>> {
    let directory = previous.map(|file| file.directory(side)).transpose()?;
    write_side(out, position, previous.zip(directory.as_deref()), changed)
}

/// Writes one side's blocks (the previous file's, merged by id with `changed`, which
/// comes sorted by id) and returns that side's directory body.
fn write_side<'a>(
    out: &mut dyn FileWriter,
    position: &mut u64,
    previous: Option<(&DerivedFile, &Directory)>,
    changed: impl Iterator<Item = Result<(&'a str, Vec<u8>)>>,
) -> Result<Vec<u8>> {
    let mut directory = vec![0u8; 4];
    let mut count: u32 = 0;
    // A run of consecutive old blocks still to copy: where it starts in the old file, and
    // how long it is. Its bytes go to the output at `position - run length`.
    let mut run: Option<(u64, u64)> = None;
    let flush_run = |out: &mut dyn FileWriter,
                     run: &mut Option<(u64, u64)>,
                     file: Option<&DerivedFile>|
     -> Result<()> {
        if let (Some((start, length)), Some(file)) = (run.take(), file) {
            let mut buffer = vec![0u8; length as usize];
            file.file.read_exact_at(start, &mut buffer)?;
            out.write_all(&buffer).map_err(write_error)?;
        }
        Ok(())
    };
    let old_file = previous.map(|(file, _)| file);
    let old_entries: &[DirectoryEntry] = previous.map_or(&[], |(_, directory)| &directory.entries);
    let mut old_index = 0;
    let mut changed = changed;
    let mut next_changed = changed.next().transpose()?;
    loop {
        let next_old = previous
            .filter(|_| old_index < old_entries.len())
            .map(|(_, directory)| directory.id(&old_entries[old_index]));
        let take_old = match (next_old, &next_changed) {
            (None, None) => break,
            (Some(old), Some((id, _))) => old < *id,
            (Some(_), None) => true,
            (None, Some(_)) => false,
        };
        if let (true, Some(old)) = (take_old, next_old) {
            let old_entry = &old_entries[old_index];
            let contiguous = run.is_some_and(|(start, length)| {
                start + length == old_entry.offset
                    && length + u64::from(old_entry.length) <= MAX_COPY_BYTES
            });
            match run.as_mut() {
                Some((_, length)) if contiguous => *length += u64::from(old_entry.length),
                _ => {
                    flush_run(out, &mut run, old_file)?;
                    run = Some((old_entry.offset, u64::from(old_entry.length)));
                }
            }
            push_entry(&mut directory, old, *position, old_entry.length);
            count += 1;
            *position += u64::from(old_entry.length);
            old_index += 1;
        } else if let Some((id, bytes)) = next_changed.take() {
            if next_old == Some(id) {
                // The changed state replaces the old one.
                old_index += 1;
            }
            flush_run(out, &mut run, old_file)?;
            let length = u32::try_from(bytes.len()).map_err(|_| {
                Error::new(
                    crate::error::ErrorKind::Limit,
                    "a derived state is too large",
                )
            })?;
            out.write_all(&bytes).map_err(write_error)?;
            push_entry(&mut directory, id, *position, length);
            count += 1;
            *position += u64::from(length);
            next_changed = changed.next().transpose()?;
        }
    }
    flush_run(out, &mut run, old_file)?;
    directory[0..4].copy_from_slice(&count.to_be_bytes());
    Ok(directory)
}

/// Writes a whole derived-state file straight from a sorted fold (a rebuild), tagged with
/// commit `applied_through` and its `hash`: blocks of the two sides are encoded on two
/// threads.
pub fn write_fold(
    out: &mut dyn FileWriter,
    sorted: SortedFold,
    applied_through: u64,
    hash: Hash,
) -> Result<()> {
    let group_ids: Vec<&str> = sorted.groups.iter().map(|(id, _)| id.as_str()).collect();
    let member_ids: Vec<&str> = sorted.members.iter().map(|(id, _)| id.as_str()).collect();
    let (group_blocks, member_blocks) = std::thread::scope(|scope| {
        let groups = scope.spawn(|| {
            encode_side(
                &sorted.groups,
                &sorted.by_group,
                |f| f.member,
                &member_ids,
                |(_, state)| {
                    BlockWriter::group(
                        state.applied_through,
                        &state.observed,
                        &state.ended,
                        &state.sources,
                    )
                },
            )
        });
        let members = encode_side(
            &sorted.members,
            &sorted.by_member,
            |f| f.group,
            &group_ids,
            |(_, applied)| BlockWriter::member(*applied),
        );
        // A panic in the other thread is a bug in this function, not bad input.
        let groups = groups
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (groups, members)
    });
    let (group_blocks, member_blocks) = (group_blocks?, member_blocks?);
    write_whole(
        out,
        [(&group_ids, group_blocks), (&member_ids, member_blocks)],
        sorted.recorded,
        applied_through,
        hash,
    )
}

/// Encodes one side's blocks into one buffer; returns it with each block's length.
fn encode_side<O>(
    outer: &[O],
    side: &FoldSide,
    inner: fn(&FlatFact) -> u32,
    inner_ids: &[&str],
    begin: impl Fn(&O) -> BlockWriter,
) -> Result<EncodedBlocks> {
    let mut bytes = Vec::with_capacity(side.len() * 14 + outer.len() * 32);
    let mut lengths = Vec::with_capacity(outer.len());
    for (rank, item) in outer.iter().enumerate() {
        let mut writer = begin(item);
        for (id, run) in side.runs(rank, inner) {
            writer.packed_timeline(
                inner_ids[id as usize],
                run.iter().map(|f| (f.days, f.seq_change)),
            )?;
        }
        let block = writer.finish()?;
        lengths.push(u32::try_from(block.len()).map_err(|_| {
            Error::new(
                crate::error::ErrorKind::Limit,
                "a derived state is too large",
            )
        })?);
        bytes.extend_from_slice(&block);
    }
    Ok(EncodedBlocks { bytes, lengths })
}
