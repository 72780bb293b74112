//! The API tests, one binary: each module drives a real node (the harness in `common`:
//! the router on a random loopback port, its own database and Redis key prefix) through
//! one family of routes. One binary links the node once instead of once per file.

mod common;

mod accounts;
mod bad_input;
mod catalog;
mod check_config;
mod check_in;
mod cli;
mod cluster;
mod community;
mod google;
mod holds;
mod invitations;
mod loadgen;
mod memberships;
mod metrics;
mod openapi;
mod payments;
mod private_services;
mod queue;
mod rate_limits;
mod recovery;
mod redis_cluster;
mod request_trail;
mod seat_map;
mod tier1;
mod transfers;
mod waiting_list;
mod web;
