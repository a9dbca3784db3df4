//! Which node is which: the numbering of a run's processes.

use crate::scenario::{Role, Scenario};
use crate::sim::NodeId;

/// The node ids of a run, by role. Ids are dense: clients, workers, the
/// store, the lease service, the attester, then the chains in domain order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Client processes.
    pub clients: Vec<NodeId>,
    /// Worker processes.
    pub workers: Vec<NodeId>,
    /// The store.
    pub store: NodeId,
    /// The lease service.
    pub lock: NodeId,
    /// The attester.
    pub attester: NodeId,
    /// The chains, indexed by domain.
    pub chains: Vec<NodeId>,
}

impl Layout {
    /// The layout a scenario implies.
    pub fn new(scenario: &Scenario) -> Layout {
        let mut next = 0u32;
        let mut take = |n: u32| -> Vec<NodeId> {
            let ids = (next..next + n).map(NodeId).collect();
            next += n;
            ids
        };
        let clients = take(scenario.engine.clients);
        let workers = take(scenario.engine.workers);
        let store = take(1)[0];
        let lock = take(1)[0];
        let attester = take(1)[0];
        let chains = take(scenario.chains.len() as u32);
        Layout {
            clients,
            workers,
            store,
            lock,
            attester,
            chains,
        }
    }

    /// How many nodes in all.
    pub fn len(&self) -> usize {
        self.clients.len() + self.workers.len() + 3 + self.chains.len()
    }

    /// True if there are no nodes (never, for a valid scenario).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The processes of one role.
    pub fn nodes_of(&self, role: Role) -> Vec<NodeId> {
        match role {
            Role::Client => self.clients.clone(),
            Role::Worker => self.workers.clone(),
            Role::Store => vec![self.store],
            Role::Lock => vec![self.lock],
            Role::Attester => vec![self.attester],
        }
    }

    /// The engine's own processes: everything but the chains. These are the
    /// ones with imperfect clocks and the ones partitions separate.
    pub fn engine_nodes(&self) -> Vec<NodeId> {
        let mut nodes = self.clients.clone();
        nodes.extend(&self.workers);
        nodes.push(self.store);
        nodes.push(self.lock);
        nodes.push(self.attester);
        nodes
    }
}
