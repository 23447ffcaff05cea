//! sigctl's integration tests: one binary, modules mirroring the commands,
//! against real repositories made by the real `git`, with certificates and
//! keys made by `openssl` and `ssh-keygen` in the test.

mod bounded;
mod bounds;
mod bundles;
mod check;
mod exception;
mod fuzz;
mod git_agrees;
mod hooks;
mod hostile;
mod html;
mod init;
mod interrupt;
mod inventory;
mod keyless;
mod messages;
mod provenance;
mod release;
mod renew;
mod review;
mod revoke;
mod schema;
mod sign;
mod signers;
mod sigstore_stack;
mod suppliers;
mod trust_model;
mod util;
mod verify;
mod verify_policy;
