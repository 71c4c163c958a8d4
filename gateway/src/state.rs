//! What every handler shares.

use std::sync::Arc;

use confab_engine::Engine;
use confab_signalling::call::Calls;
use confab_storage::Store;

use crate::auth::TokenService;
use crate::config::Config;
use crate::ratelimit::Limits;

pub struct AppState {
    pub store: Arc<dyn Store>,
    pub engine: Arc<Engine>,
    pub calls: Arc<Calls>,
    pub tokens: TokenService,
    pub limits: Arc<Limits>,
    pub config: Config,
    pub media: Arc<confab_engine::media::MediaService>,
}
