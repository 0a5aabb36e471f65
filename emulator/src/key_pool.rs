//! Keys ready before they are asked for: RSA-2048 generation takes tens of milliseconds, so a
//! background thread keeps a few ready and a create only waits when the pool has run dry. It
//! never signs or stores anything.
//!
//! With reuse on, the first few keys of each type are handed out again in turn, for load where
//! key generation would be most of the work; the API never shows a key, so no client can tell.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, TrySendError, sync_channel};
use std::sync::{Arc, Mutex};

use rcgen::KeyPair;

use crate::csr::{CsrError, generate_key};
use crate::model::KeyType;

pub struct KeyPool {
    ready: Option<Mutex<Receiver<KeyPair>>>,
    /// At most this many distinct keys of each type, then those again in turn; 0: a new key
    /// every time.
    reuse: usize,
    /// The keys made for reuse, and whose turn is next: RSA, then P-256.
    made: [Mutex<Vec<Arc<KeyPair>>>; 2],
    turn: [AtomicUsize; 2],
}

fn slot(key_type: KeyType) -> usize {
    match key_type {
        KeyType::Rsa2048 => 0,
        KeyType::P256v1 => 1,
    }
}

impl KeyPool {
    /// Starts the filler thread unless `size` is 0. The thread ends by itself once the pool is
    /// dropped (its next hand-over fails), so the pool owns no handle to join. `reuse` above 0
    /// caps the distinct keys of each type ever made at that many.
    pub fn new(size: usize, reuse: usize) -> KeyPool {
        // With reuse, more ready keys than will ever be taken would only cost start-up time.
        let ready = if reuse == 0 { size } else { size.min(reuse) };
        KeyPool {
            ready: Self::filler(ready),
            reuse,
            made: Default::default(),
            turn: Default::default(),
        }
    }

    fn filler(size: usize) -> Option<Mutex<Receiver<KeyPair>>> {
        if size == 0 {
            return None;
        }
        let (tx, rx) = sync_channel::<KeyPair>(size);
        let spawned = std::thread::Builder::new()
            .name("csr-emulator-keys".into())
            .spawn(move || {
                loop {
                    let Ok(key) = generate_key(KeyType::Rsa2048) else {
                        return;
                    };
                    match tx.try_send(key) {
                        Ok(()) => {}
                        // Full: block until a create takes one, or until the pool is gone.
                        Err(TrySendError::Full(key)) => {
                            if tx.send(key).is_err() {
                                return;
                            }
                        }
                        Err(TrySendError::Disconnected(_)) => return,
                    }
                }
            });
        // Without a filler thread every key is made on demand, which is slower but correct.
        spawned.ok().map(|_| Mutex::new(rx))
    }

    /// A ready RSA key, if the pool has one.
    pub fn take_rsa(&self) -> Option<KeyPair> {
        let ready = self.ready.as_ref()?;
        let rx = ready.lock().unwrap_or_else(|p| p.into_inner());
        rx.try_recv().ok()
    }

    /// The key for a new CSR: RSA from the pool when it can, otherwise freshly generated on
    /// tokio's blocking pool so request threads never stall on key generation; with reuse on
    /// and its keys made, one of those.
    pub async fn key_for(&self, key_type: KeyType) -> Result<Arc<KeyPair>, CsrError> {
        if let Some(key) = self.reused(key_type) {
            return Ok(key);
        }
        let key = Arc::new(match key_type {
            KeyType::P256v1 => generate_key(key_type)?,
            KeyType::Rsa2048 => match self.take_rsa() {
                Some(key) => key,
                None => tokio::task::spawn_blocking(move || generate_key(key_type))
                    .await
                    .map_err(|_| CsrError::Cancelled)??,
            },
        });
        if self.reuse > 0 {
            let mut made = self.made[slot(key_type)]
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if made.len() < self.reuse {
                made.push(key.clone());
            }
        }
        Ok(key)
    }

    /// The next of the reused keys of `key_type` once all of them are made.
    fn reused(&self, key_type: KeyType) -> Option<Arc<KeyPair>> {
        if self.reuse == 0 {
            return None;
        }
        let made = self.made[slot(key_type)]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        let turn = &self.turn[slot(key_type)];
        (made.len() >= self.reuse)
            .then(|| made[turn.fetch_add(1, Ordering::Relaxed) % made.len()].clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn pool_fills_in_the_background_and_hands_out_rsa_keys() {
        let pool = KeyPool::new(1, 0);
        let deadline = Instant::now() + Duration::from_secs(20);
        let key = loop {
            if let Some(k) = pool.take_rsa() {
                break k;
            }
            assert!(Instant::now() < deadline, "pool never filled");
            std::thread::sleep(Duration::from_millis(10));
        };
        assert!(key.is_compatible(&PKCS_RSA_SHA256));
    }

    fn rsa_keys(pool: &KeyPool, n: usize) -> Vec<Vec<u8>> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        (0..n)
            .map(|_| {
                let key = rt.block_on(pool.key_for(KeyType::Rsa2048)).unwrap();
                assert!(key.is_compatible(&PKCS_RSA_SHA256));
                key.subject_public_key_info()
            })
            .collect()
    }

    #[test]
    fn without_reuse_every_rsa_key_is_new() {
        let keys = rsa_keys(&KeyPool::new(0, 0), 3);
        assert!(keys[0] != keys[1] && keys[1] != keys[2] && keys[0] != keys[2]);
    }

    #[test]
    fn reuse_makes_that_many_keys_then_hands_them_out_in_turn() {
        let keys = rsa_keys(&KeyPool::new(1, 2), 6);
        assert_ne!(keys[0], keys[1]);
        assert_eq!(keys[2..], [&keys[..2], &keys[..2]].concat());
        // P-256 keys are cheap and stay new.
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        // P-256 keys are reused the same way, apart from the RSA ones.
        let pool = KeyPool::new(0, 2);
        let p256: Vec<_> = (0..5)
            .map(|_| {
                let key = rt.block_on(pool.key_for(KeyType::P256v1)).unwrap();
                assert!(key.is_compatible(&rcgen::PKCS_ECDSA_P256_SHA256));
                key.subject_public_key_info()
            })
            .collect();
        assert_ne!(p256[0], p256[1]);
        assert_eq!(p256[2..], [&p256[..2], &p256[..1]].concat());
        // Without reuse every P-256 key is new.
        let pool = KeyPool::new(0, 0);
        let a = rt.block_on(pool.key_for(KeyType::P256v1)).unwrap();
        let b = rt.block_on(pool.key_for(KeyType::P256v1)).unwrap();
        assert_ne!(a.subject_public_key_info(), b.subject_public_key_info());
    }

    #[test]
    fn empty_pool_size_means_no_pool() {
        assert!(KeyPool::new(0, 0).take_rsa().is_none());
    }

    use rcgen::{PKCS_RSA_SHA256, PublicKeyData};
}
