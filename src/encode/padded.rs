//! Short copies of run-time length as a few fixed-size vector moves.

/// Bytes `append_padded` copies at a time.
pub(crate) const CHUNK: usize = 32;

/// Appends `src[..len]` to `out` in whole `CHUNK`s, then cuts `out` back to
/// the right length: fixed-size copies the compiler turns into a few vector
/// moves, where a short copy of run-time length is a call to `memcpy`. The
/// extra bytes read must exist: `src` has at least `len + CHUNK - 1` bytes.
#[inline]
pub(crate) fn append_padded(out: &mut Vec<u8>, src: &[u8], len: usize) {
    let end = out.len() + len;
    for chunk in src[..len.next_multiple_of(CHUNK)].chunks_exact(CHUNK) {
        let chunk: &[u8; CHUNK] = chunk.try_into().unwrap();
        out.extend_from_slice(chunk);
    }
    out.truncate(end);
}
