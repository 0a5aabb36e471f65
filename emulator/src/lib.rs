//! Reference emulator of Cloudflare's Custom CSR API.
