//! Running the model: tokenise, batch, BERT forward, mean-pool, L2-normalise.

use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use candle_transformers::models::bert::{BertModel, Config, HiddenAct};
use tokenizers::{Tokenizer, TruncationParams};

use crate::{DIM, EmbedError, Embedding, e5s1, fetch};

/// Tokens the model reads per text, `<s>` and `</s>` included; the rest is dropped.
pub const MAX_TOKENS: usize = 512;
/// Characters of a text handed to the tokenizer at most. 512 tokens are about 2,000 characters
/// of English prose, so this cut only bounds the tokenizer's time on hostile input (100 kB of one
/// character) and never changes what the model reads on real text.
pub const MAX_CHARS: usize = 8_192;
/// Texts per forward pass. Texts are sorted by length first, so padding stays small.
const BATCH: usize = 16;

/// A loaded multilingual-e5-small: call [`Embedder::embed_queries`] for search queries and
/// [`Embedder::embed_passages`] for the documents they should find.
pub struct Embedder {
    model: BertModel,
    tokenizer: Tokenizer,
    device: Device,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Embedder(multilingual-e5-small)")
    }
}

impl Embedder {
    /// Loads the model installed in `dir` (see [`crate::model_dir`]), verifying both files'
    /// checksums. A missing or damaged model is an error naming `silkmatch model fetch`.
    pub fn load(dir: &Path) -> Result<Embedder, EmbedError> {
        if !dir.is_dir() {
            return Err(EmbedError::Missing(dir.display().to_string()));
        }
        let (weights, tokenizer) = fetch::read_verified(dir)?;
        let device = Device::Cpu;
        let (h, tensors) = e5s1::tensors(&weights, &device)?;
        drop(weights);
        let config = Config {
            vocab_size: h.vocab,
            hidden_size: h.hidden,
            num_hidden_layers: h.layers,
            num_attention_heads: h.heads,
            intermediate_size: h.ff,
            hidden_act: HiddenAct::Gelu,
            hidden_dropout_prob: 0.0,
            max_position_embeddings: h.max_positions,
            type_vocab_size: h.type_vocab,
            initializer_range: 0.02,
            layer_norm_eps: h.eps,
            pad_token_id: 1,
            classifier_dropout: None,
            model_type: None,
            ..Config::default()
        };
        if h.hidden != DIM {
            return Err(EmbedError::Corrupt(format!(
                "the model has {} dimensions, not {DIM}",
                h.hidden
            )));
        }
        let vb = VarBuilder::from_tensors(tensors, DType::F32, &device);
        let model = BertModel::load(vb, &config)?;
        let mut tokenizer =
            Tokenizer::from_bytes(&tokenizer).map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: MAX_TOKENS.min(h.max_positions),
                ..TruncationParams::default()
            }))
            .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
        tokenizer.with_padding(None);
        Ok(Embedder {
            model,
            tokenizer,
            device,
        })
    }

    /// Embeds search queries (prefix `query: `).
    pub fn embed_queries(&self, texts: &[&str]) -> Result<Vec<Embedding>, EmbedError> {
        self.embed("query: ", texts)
    }

    /// Embeds documents to be found (prefix `passage: `).
    pub fn embed_passages(&self, texts: &[&str]) -> Result<Vec<Embedding>, EmbedError> {
        self.embed("passage: ", texts)
    }

    /// Tokenises (prefix + text cut to [`MAX_CHARS`], truncated to [`MAX_TOKENS`]), runs the
    /// texts in length-sorted batches and returns the vectors in input order.
    fn embed(&self, prefix: &str, texts: &[&str]) -> Result<Vec<Embedding>, EmbedError> {
        let inputs: Vec<String> = texts
            .iter()
            .map(|t| {
                let cut = t.char_indices().nth(MAX_CHARS).map_or(t.len(), |(i, _)| i);
                format!("{prefix}{}", &t[..cut])
            })
            .collect();
        let mut encodings = Vec::with_capacity(inputs.len());
        for input in &inputs {
            let encoding = self
                .tokenizer
                .encode(input.as_str(), true)
                .map_err(|e| EmbedError::Tokenizer(e.to_string()))?;
            encodings.push(encoding.get_ids().to_vec());
        }
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        let mut out = vec![[0f32; DIM]; encodings.len()];
        for chunk in order.chunks(BATCH) {
            let batch: Vec<&[u32]> = chunk.iter().map(|&i| encodings[i].as_slice()).collect();
            for (&i, vector) in chunk.iter().zip(self.forward(&batch)?) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    /// One padded batch through the encoder, mean-pooled over real tokens, L2-normalised.
    fn forward(&self, batch: &[&[u32]]) -> Result<Vec<Embedding>, EmbedError> {
        let width = batch.iter().map(|ids| ids.len()).max().unwrap_or(0).max(1);
        let mut ids = Vec::with_capacity(batch.len() * width);
        let mut mask = Vec::with_capacity(batch.len() * width);
        for row in batch {
            ids.extend_from_slice(row);
            ids.extend(std::iter::repeat_n(1u32, width - row.len()));
            mask.extend(std::iter::repeat_n(1u32, row.len()));
            mask.extend(std::iter::repeat_n(0u32, width - row.len()));
        }
        let shape = (batch.len(), width);
        let ids = Tensor::from_vec(ids, shape, &self.device)?;
        let mask = Tensor::from_vec(mask, shape, &self.device)?;
        let types = ids.zeros_like()?;
        let hidden = self.model.forward(&ids, &types, Some(&mask))?;
        let mask = mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1f32, f32::MAX)?;
        let mean = summed.broadcast_div(&counts)?;
        let norm = mean
            .sqr()?
            .sum_keepdim(1)?
            .sqrt()?
            .clamp(1e-12f32, f32::MAX)?;
        let rows: Vec<Vec<f32>> = mean.broadcast_div(&norm)?.to_vec2()?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut v = [0f32; DIM];
                v.copy_from_slice(&row[..DIM]);
                v
            })
            .collect())
    }
}

/// Cosine of two L2-normalised embeddings (their dot product).
pub fn cosine(a: &Embedding, b: &Embedding) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The model installed for tests, if any: `SILKMATCH_MODEL_DIR` or `<repo>/index/models/...`.
    fn installed() -> Option<Embedder> {
        let dir = std::env::var_os("SILKMATCH_MODEL_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                crate::model_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../index"))
            });
        match Embedder::load(&dir) {
            Ok(e) => Some(e),
            Err(e) => {
                eprintln!("skipped: no model ({e})");
                None
            }
        }
    }

    #[test]
    fn missing_model_names_the_fix() {
        let err = Embedder::load(Path::new("/nonexistent/model")).unwrap_err();
        assert!(err.to_string().contains("silkmatch model fetch"), "{err}");
    }

    #[test]
    fn hostile_text_does_not_panic() {
        let Some(e) = installed() else { return };
        let long = "a".repeat(100_000);
        let texts = ["", long.as_str(), "\u{10FFFF}\u{E000}𓀀𓀁 ꦲꦏ꧀ꦱꦫ", "   "];
        let out = e.embed_passages(&texts).unwrap();
        assert_eq!(out.len(), 4);
        for v in &out {
            assert!(v.iter().all(|x| x.is_finite()));
        }
        assert!(e.embed_queries(&[]).unwrap().is_empty());
    }

    #[test]
    fn translation_is_closer_than_unrelated_text() {
        let Some(e) = installed() else { return };
        let q = e.embed_queries(&["solar panel recycling"]).unwrap();
        let p = e
            .embed_passages(&["太阳能电池板回收技术", "a recipe for chocolate cake"])
            .unwrap();
        assert!(cosine(&q[0], &p[0]) > cosine(&q[0], &p[1]));
    }
}
