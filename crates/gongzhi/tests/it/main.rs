//! Tests of the `gongzhi` binary as a process: a projector killed with SIGKILL in the
//! middle of its work resumes from its checkpoint and applies nothing twice; a writer
//! killed mid-load leaves only whole transactions behind; `gongzhi dev` killed while
//! concerns are being filed loses none that it acknowledged.

mod crash;
mod server;
