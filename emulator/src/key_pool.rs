//! RSA-2048 generation takes tens of milliseconds, so a background thread keeps a few keys
//! ready and create only waits for one when the pool has run dry.

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, TrySendError, sync_channel};

use rcgen::KeyPair;

use crate::csr::{CsrError, KeyType, generate_key};

pub struct KeyPool {
    ready: Option<Mutex<Receiver<KeyPair>>>,
}

impl KeyPool {
    /// Starts the filler thread unless `size` is 0. The thread ends by itself once the pool is
    /// dropped (its next hand-over fails), so the pool owns no handle to join.
    pub fn new(size: usize) -> KeyPool {
        if size == 0 {
            return KeyPool { ready: None };
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
        KeyPool {
            // Without a filler thread every key is made on demand, which is slower but correct.
            ready: spawned.ok().map(|_| Mutex::new(rx)),
        }
    }

    /// A ready RSA key, if the pool has one.
    pub fn take_rsa(&self) -> Option<KeyPair> {
        let ready = self.ready.as_ref()?;
        let rx = ready.lock().unwrap_or_else(|p| p.into_inner());
        rx.try_recv().ok()
    }

    /// The key for a new CSR: RSA from the pool when it can, otherwise freshly generated on
    /// tokio's blocking pool so request threads never stall on key generation.
    pub async fn key_for(&self, key_type: KeyType) -> Result<KeyPair, CsrError> {
        if key_type == KeyType::Rsa2048
            && let Some(key) = self.take_rsa()
        {
            return Ok(key);
        }
        match key_type {
            KeyType::P256v1 => generate_key(key_type),
            KeyType::Rsa2048 => tokio::task::spawn_blocking(move || generate_key(key_type))
                .await
                .map_err(|_| CsrError::Cancelled)?,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn pool_fills_in_the_background_and_hands_out_rsa_keys() {
        let pool = KeyPool::new(1);
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

    #[test]
    fn empty_pool_size_means_no_pool() {
        assert!(KeyPool::new(0).take_rsa().is_none());
    }

    use rcgen::PKCS_RSA_SHA256;
}
