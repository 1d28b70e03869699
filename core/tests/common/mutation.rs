//! Byte-level mutations of tokens, JWKS documents and JSON text: bit flips, inserted, deleted and
//! replaced bytes, truncation, swapped, duplicated and dropped `.`-separated segments, splices.

use proptest::prelude::*;

#[derive(Clone, Debug)]
pub enum Mutation {
    Flip(usize, u8),
    Insert(usize, u8),
    Delete(usize),
    Replace(usize, u8),
    Truncate(usize),
    SwapSegments(usize, usize),
    DuplicateSegment(usize),
    DropSegment(usize),
    Splice(usize, Vec<u8>),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    let interesting = prop::sample::select(b".=-_+/ \n\0\"{}[]\\AaZz09\xff\xc3".to_vec());
    prop_oneof![
        3 => (any::<usize>(), 0u8..8).prop_map(|(i, b)| Mutation::Flip(i, b)),
        2 => (any::<usize>(), prop_oneof![interesting.clone(), any::<u8>()]).prop_map(|(i, b)| Mutation::Insert(i, b)),
        2 => any::<usize>().prop_map(Mutation::Delete),
        2 => (any::<usize>(), prop_oneof![interesting, any::<u8>()]).prop_map(|(i, b)| Mutation::Replace(i, b)),
        1 => any::<usize>().prop_map(Mutation::Truncate),
        1 => (0usize..3, 0usize..3).prop_map(|(a, b)| Mutation::SwapSegments(a, b)),
        1 => (0usize..3).prop_map(Mutation::DuplicateSegment),
        1 => (0usize..3).prop_map(Mutation::DropSegment),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 0..16)).prop_map(|(i, b)| Mutation::Splice(i, b)),
    ]
}

pub fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let len = bytes.len();
    let at = |i: usize| if len == 0 { 0 } else { i % len };
    match m {
        Mutation::Flip(i, bit) if len > 0 => bytes[at(*i)] ^= 1 << bit,
        Mutation::Insert(i, b) => bytes.insert(i % (len + 1), *b),
        Mutation::Delete(i) if len > 0 => {
            bytes.remove(at(*i));
        }
        Mutation::Replace(i, b) if len > 0 => bytes[at(*i)] = *b,
        Mutation::Truncate(i) => bytes.truncate(i % (len + 1)),
        Mutation::SwapSegments(..) | Mutation::DuplicateSegment(_) | Mutation::DropSegment(_) => {
            let mut segments: Vec<Vec<u8>> =
                bytes.split(|&b| b == b'.').map(<[u8]>::to_vec).collect();
            let n = segments.len();
            match m {
                Mutation::SwapSegments(a, b) => segments.swap(a % n, b % n),
                Mutation::DuplicateSegment(a) => {
                    let s = segments[a % n].clone();
                    segments.insert(a % n, s);
                }
                Mutation::DropSegment(a) => {
                    segments.remove(a % n);
                }
                _ => {}
            }
            *bytes = segments.join(&b'.');
        }
        Mutation::Splice(i, data) => {
            let at = i % (len + 1);
            bytes.splice(at..at, data.iter().copied());
        }
        _ => {}
    }
}
