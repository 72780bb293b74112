//! A counted B+tree of `u32` handles: an ordered sequence with exact ranks in O(log n).
//!
//! The queue needs "how many people are ahead of me" exactly, for a million people, while
//! keys arrive online in any order (a Tier-1 position can land anywhere in the line). A
//! Fenwick tree would need the key space fixed in advance; a balanced binary tree costs
//! three words per element. A B+tree whose leaves hold bare 4-byte handles and whose
//! inner nodes remember each child's element count gives O(log n) rank, insert and
//! remove for about 4–8 bytes per element.
//!
//! A node that a removal leaves under half full is merged with, or refilled from, a
//! neighbour. A full leaf first shares with a neighbour that has room and splits only
//! when none has; a split at a leaf's end (people arriving in order) leaves the old leaf
//! full and starts a short one, which the next arrivals fill.
//!
//! Leaves store no keys: a caller's `key_of` reads a handle's key from the caller's own
//! storage, so each key lives once. Inner nodes do keep a copy of each child's first key
//! (about one per hundred elements, well under a byte each): a rank lookup routes through
//! them without reading the caller's storage, and finds its handle in the leaf by value,
//! so it touches a few contiguous nodes instead of one scattered record per comparison
//! (`docs/architecture.md#status-board`: this is what a status costs).

/// Handles per leaf. Big leaves keep the per-element overhead near 4 bytes; the memmove
/// inside a 512-byte leaf is cheaper than another tree level.
const LEAF_MAX: usize = 128;
const LEAF_MIN: usize = LEAF_MAX / 2;
/// Children per inner node.
const INNER_MAX: usize = 64;
const INNER_MIN: usize = INNER_MAX / 2;

/// What an inner node knows about one child: enough to route (`first`, the key of its
/// first element) and to rank (`size`) without visiting it.
#[derive(Clone, Copy, Debug)]
struct Child<K> {
    node: u32,
    size: u32,
    first: K,
}

#[derive(Debug)]
enum Node<K> {
    Leaf(Vec<u32>),
    Inner(Vec<Child<K>>),
    /// A slot on the free list.
    Vacant,
}

/// An order-statistics sequence of handles ordered by their keys `K`; see the module
/// docs.
#[derive(Debug)]
pub(crate) struct OrderTree<K> {
    /// Nodes live in one arena and point at each other by index: no unsafe, no boxes.
    nodes: Vec<Node<K>>,
    free: Vec<u32>,
    root: u32,
    len: usize,
}

impl<K: Copy + Ord> Default for OrderTree<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: Copy + Ord> OrderTree<K> {
    pub(crate) fn new() -> Self {
        Self {
            nodes: vec![Node::Leaf(Vec::with_capacity(LEAF_MAX))],
            free: Vec::new(),
            root: 0,
            len: 0,
        }
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Inserts `item` with `key` and returns its 0-based rank. `key_of` gives the key of
    /// any stored handle; the caller keeps keys unique.
    pub(crate) fn insert(&mut self, item: u32, key: K, key_of: &impl Fn(u32) -> K) -> usize {
        let root = self.root;
        let (rank, split) = self.insert_into(root, item, key, key_of);
        if let Some(right) = split {
            let (size, first) = self.summary(root, key_of);
            let mut children = Vec::with_capacity(INNER_MAX + 1);
            children.push(Child {
                node: root,
                size,
                first: first.unwrap_or(key),
            });
            children.push(right);
            self.root = self.alloc(Node::Inner(children));
        }
        self.len += 1;
        rank
    }

    /// The 0-based rank of `item`, stored under `key`, if present. Routes by the inner
    /// nodes' copies of keys and finds `item` in its leaf by value: it never calls back
    /// into the caller's storage.
    pub(crate) fn rank(&self, item: u32, key: &K) -> Option<usize> {
        let mut node = self.root;
        let mut before = 0usize;
        loop {
            match self.nodes.get(node as usize)? {
                Node::Leaf(items) => {
                    return items.iter().position(|&x| x == item).map(|i| before + i);
                }
                Node::Inner(children) => {
                    let ci = route(children, key);
                    before += children[..ci]
                        .iter()
                        .map(|c| c.size as usize)
                        .sum::<usize>();
                    node = children[ci].node;
                }
                Node::Vacant => return None,
            }
        }
    }

    /// Removes `item`, stored under `key`; returns its rank before removal.
    pub(crate) fn remove(
        &mut self,
        item: u32,
        key: &K,
        key_of: &impl Fn(u32) -> K,
    ) -> Option<usize> {
        let rank = self.rank(item, key)?;
        self.remove_at(rank, key_of).map(|_| rank)
    }

    /// Removes and returns the handle at `rank`.
    pub(crate) fn remove_at(&mut self, rank: usize, key_of: &impl Fn(u32) -> K) -> Option<u32> {
        if rank >= self.len {
            return None;
        }
        let item = self.remove_from(self.root, rank, key_of);
        self.len -= 1;
        // A root left with one child is a needless level.
        while let Some(Node::Inner(children)) = self.nodes.get(self.root as usize) {
            if children.len() != 1 {
                break;
            }
            let only = children[0].node;
            self.release(self.root);
            self.root = only;
        }
        item
    }

    /// Removes and returns the first handle.
    pub(crate) fn pop_first(&mut self, key_of: &impl Fn(u32) -> K) -> Option<u32> {
        self.remove_at(0, key_of)
    }

    /// The handles in order.
    pub(crate) fn iter(&self) -> Iter<'_, K> {
        let mut iter = Iter {
            tree: self,
            stack: Vec::new(),
            leaf: &[],
            pos: 0,
        };
        iter.descend(self.root);
        iter
    }

    fn insert_into(
        &mut self,
        node: u32,
        item: u32,
        key: K,
        key_of: &impl Fn(u32) -> K,
    ) -> (usize, Option<Child<K>>) {
        match &mut self.nodes[node as usize] {
            Node::Leaf(items) => {
                let i = items.partition_point(|&x| key_of(x) < key);
                if items.len() < LEAF_MAX {
                    items.insert(i, item);
                    return (i, None);
                }
                // A full leaf splits. Appending at its end (the common case: people arrive
                // roughly in Tier-1 order) moves only the newcomer, so leaves stay full
                // rather than half full.
                let mut right = Vec::with_capacity(LEAF_MAX);
                if i == items.len() {
                    right.push(item);
                } else {
                    let mid = LEAF_MAX / 2;
                    right.extend(items.drain(mid..));
                    if i <= mid {
                        items.insert(i, item);
                    } else {
                        right.insert(i - mid, item);
                    }
                }
                let size = len_u32(right.len());
                let first = if right[0] == item {
                    key
                } else {
                    key_of(right[0])
                };
                let id = self.alloc(Node::Leaf(right));
                (
                    i,
                    Some(Child {
                        node: id,
                        size,
                        first,
                    }),
                )
            }
            Node::Inner(children) => {
                let mut ci = route(children, &key);
                let routed = children[ci].node;
                if self.leaf_len(routed) == Some(LEAF_MAX) {
                    ci = self.make_room(node, ci, &key, key_of);
                }
                let Node::Inner(children) = &self.nodes[node as usize] else {
                    unreachable!("an inner node stays inner while a child is updated");
                };
                let before: usize = children[..ci].iter().map(|c| c.size as usize).sum();
                let child_node = children[ci].node;
                let (rank, split) = self.insert_into(child_node, item, key, key_of);
                let Node::Inner(children) = &mut self.nodes[node as usize] else {
                    unreachable!("an inner node stays inner while a child is updated");
                };
                let child = &mut children[ci];
                child.size += 1;
                if rank == 0 {
                    child.first = key;
                }
                if let Some(new) = split {
                    child.size -= new.size;
                    children.insert(ci + 1, new);
                }
                if children.len() <= INNER_MAX {
                    return (before + rank, None);
                }
                let mut right = Vec::with_capacity(INNER_MAX + 1);
                right.extend(children.drain(children.len() / 2..));
                let size = right.iter().map(|c| c.size).sum();
                let first = right[0].first;
                let id = self.alloc(Node::Inner(right));
                (
                    before + rank,
                    Some(Child {
                        node: id,
                        size,
                        first,
                    }),
                )
            }
            Node::Vacant => unreachable!("the tree never links a vacant node"),
        }
    }

    fn remove_from(&mut self, node: u32, rank: usize, key_of: &impl Fn(u32) -> K) -> Option<u32> {
        match &mut self.nodes[node as usize] {
            Node::Leaf(items) => (rank < items.len()).then(|| items.remove(rank)),
            Node::Inner(children) => {
                let mut within = rank;
                let mut ci = 0;
                while ci + 1 < children.len() && within >= children[ci].size as usize {
                    within -= children[ci].size as usize;
                    ci += 1;
                }
                let child_node = children[ci].node;
                let item = self.remove_from(child_node, within, key_of)?;
                // Only the removal of a child's first element changes its first key.
                let first = (within == 0)
                    .then(|| self.first_of(child_node, key_of))
                    .flatten();
                let underflow = self.is_underfull(child_node);
                let Node::Inner(children) = &mut self.nodes[node as usize] else {
                    unreachable!("an inner node stays inner while a child is updated");
                };
                children[ci].size -= 1;
                if let Some(first) = first {
                    children[ci].first = first;
                }
                if underflow {
                    self.rebalance(node, ci, key_of);
                }
                Some(item)
            }
            Node::Vacant => None,
        }
    }

    /// Merges the under-full child `ci` of `parent` with a sibling, or evens the two out.
    fn rebalance(&mut self, parent: u32, ci: usize, key_of: &impl Fn(u32) -> K) {
        let Node::Inner(children) = &self.nodes[parent as usize] else {
            return;
        };
        if children.len() < 2 {
            return;
        }
        let (l, r) = if ci + 1 < children.len() {
            (ci, ci + 1)
        } else {
            (ci - 1, ci)
        };
        let (ln, rn) = (children[l].node, children[r].node);
        let mut right = std::mem::replace(&mut self.nodes[rn as usize], Node::Vacant);
        let merged = match (&mut self.nodes[ln as usize], &mut right) {
            (Node::Leaf(a), Node::Leaf(b)) => even_out(a, b, LEAF_MAX),
            (Node::Inner(a), Node::Inner(b)) => even_out(a, b, INNER_MAX),
            _ => unreachable!("siblings are on the same level"),
        };
        if merged {
            self.free.push(rn);
        } else {
            self.nodes[rn as usize] = right;
        }
        let left_summary = self.summary(ln, key_of);
        let right_summary = (!merged).then(|| self.summary(rn, key_of));
        let Node::Inner(children) = &mut self.nodes[parent as usize] else {
            return;
        };
        set_summary(&mut children[l], left_summary);
        match right_summary {
            Some(summary) => set_summary(&mut children[r], summary),
            None => {
                children.remove(r);
            }
        }
    }

    /// Before a full leaf would split, moves half the free room's worth of its elements
    /// into a neighbour that has room (as a B*-tree does). Splits then happen only when
    /// neighbours are full too, which keeps leaves about 80% full for inserts anywhere
    /// instead of about 50–70%, and memory is what the queue is short of. Returns the
    /// child to insert into afterwards.
    fn make_room(&mut self, parent: u32, ci: usize, key: &K, key_of: &impl Fn(u32) -> K) -> usize {
        let Node::Inner(children) = &self.nodes[parent as usize] else {
            return ci;
        };
        let room = |i: usize| -> usize {
            children
                .get(i)
                .and_then(|c| self.leaf_len(c.node))
                .map_or(0, |len| LEAF_MAX - len)
        };
        let (l, r, into_left) = if ci > 0 && room(ci - 1) > 0 {
            (ci - 1, ci, true)
        } else if room(ci + 1) > 0 {
            (ci, ci + 1, false)
        } else {
            return ci;
        };
        let moved = room(if into_left { l } else { r }).div_ceil(2);
        let (ln, rn) = (children[l].node, children[r].node);
        let mut right = std::mem::replace(&mut self.nodes[rn as usize], Node::Vacant);
        if let (Node::Leaf(a), Node::Leaf(b)) = (&mut self.nodes[ln as usize], &mut right) {
            if into_left {
                a.extend(b.drain(..moved));
            } else {
                let tail: Vec<u32> = a.drain(a.len() - moved..).collect();
                b.splice(0..0, tail);
            }
        }
        self.nodes[rn as usize] = right;
        let (left_summary, right_summary) = (self.summary(ln, key_of), self.summary(rn, key_of));
        let Node::Inner(children) = &mut self.nodes[parent as usize] else {
            return ci;
        };
        set_summary(&mut children[l], left_summary);
        set_summary(&mut children[r], right_summary);
        route(children, key)
    }

    fn leaf_len(&self, node: u32) -> Option<usize> {
        match &self.nodes[node as usize] {
            Node::Leaf(items) => Some(items.len()),
            _ => None,
        }
    }

    fn is_underfull(&self, node: u32) -> bool {
        match &self.nodes[node as usize] {
            Node::Leaf(items) => items.len() < LEAF_MIN,
            Node::Inner(children) => children.len() < INNER_MIN,
            Node::Vacant => false,
        }
    }

    /// The key of a subtree's first element.
    fn first_of(&self, node: u32, key_of: &impl Fn(u32) -> K) -> Option<K> {
        match &self.nodes[node as usize] {
            Node::Leaf(items) => items.first().map(|&x| key_of(x)),
            Node::Inner(children) => children.first().map(|c| c.first),
            Node::Vacant => None,
        }
    }

    /// (element count, first key) of a subtree, as its parent records them.
    fn summary(&self, node: u32, key_of: &impl Fn(u32) -> K) -> (u32, Option<K>) {
        let size = match &self.nodes[node as usize] {
            Node::Leaf(items) => len_u32(items.len()),
            Node::Inner(children) => children.iter().map(|c| c.size).sum(),
            Node::Vacant => 0,
        };
        (size, self.first_of(node, key_of))
    }

    fn alloc(&mut self, node: Node<K>) -> u32 {
        match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                len_u32(self.nodes.len() - 1)
            }
        }
    }

    fn release(&mut self, node: u32) {
        self.nodes[node as usize] = Node::Vacant;
        self.free.push(node);
    }

    /// Checks every structural invariant, the inner nodes' copies of keys among them;
    /// for tests.
    #[cfg(test)]
    pub(crate) fn check(&self, key_of: &impl Fn(u32) -> K)
    where
        K: std::fmt::Debug,
    {
        struct Walk<'a, K, F> {
            tree: &'a OrderTree<K>,
            key_of: &'a F,
            leaf_depth: Option<usize>,
            out: Vec<u32>,
        }
        impl<K: Copy + Ord + std::fmt::Debug, F: Fn(u32) -> K> Walk<'_, K, F> {
            fn walk(&mut self, node: u32, is_root: bool, depth: usize) -> (u32, Option<K>) {
                let tree = self.tree;
                match &tree.nodes[node as usize] {
                    Node::Leaf(items) => {
                        // Append splits leave a short leaf at the right; only removals
                        // must never leave an empty one behind.
                        assert!(is_root || !items.is_empty(), "empty leaf");
                        assert!(items.len() <= LEAF_MAX);
                        assert_eq!(*self.leaf_depth.get_or_insert(depth), depth, "leaves level");
                        self.out.extend(items);
                        (
                            len_u32(items.len()),
                            items.first().map(|&x| (self.key_of)(x)),
                        )
                    }
                    Node::Inner(children) => {
                        assert!(children.len() >= if is_root { 2 } else { INNER_MIN });
                        assert!(children.len() <= INNER_MAX);
                        for c in children {
                            let (size, first) = self.walk(c.node, false, depth + 1);
                            assert_eq!(size, c.size, "child size");
                            assert_eq!(first, Some(c.first), "child first key");
                        }
                        (
                            children.iter().map(|c| c.size).sum(),
                            children.first().map(|c| c.first),
                        )
                    }
                    Node::Vacant => panic!("vacant node linked"),
                }
            }
        }
        let mut walk = Walk {
            tree: self,
            key_of,
            leaf_depth: None,
            out: Vec::new(),
        };
        let (size, _) = walk.walk(self.root, true, 0);
        let out = walk.out;
        assert_eq!(size as usize, self.len);
        assert!(out.windows(2).all(|w| key_of(w[0]) < key_of(w[1])));
        assert_eq!(out, self.iter().collect::<Vec<_>>());
        for (i, &item) in out.iter().enumerate() {
            assert_eq!(self.rank(item, &key_of(item)), Some(i), "rank of {item}");
        }
    }
}

/// The child whose range holds `key`: the last one whose first key does not come after
/// it (or the first child, for a key before everything).
fn route<K: Ord>(children: &[Child<K>], key: &K) -> usize {
    children
        .partition_point(|c| c.first <= *key)
        .saturating_sub(1)
}

fn set_summary<K>(child: &mut Child<K>, (size, first): (u32, Option<K>)) {
    child.size = size;
    if let Some(first) = first {
        child.first = first;
    }
}

/// Merges `b` into `a` when both fit in one node (returns true), else shares the
/// elements evenly between them, keeping their order.
fn even_out<T>(a: &mut Vec<T>, b: &mut Vec<T>, max: usize) -> bool {
    let total = a.len() + b.len();
    if total <= max {
        a.append(b);
        return true;
    }
    let want = total / 2;
    if a.len() < want {
        let take = want - a.len();
        a.extend(b.drain(..take));
    } else {
        let give = a.len() - want;
        let tail: Vec<T> = a.drain(a.len() - give..).collect();
        b.splice(0..0, tail);
    }
    false
}

/// Node sizes are bounded by the queue's u32 handle space.
fn len_u32(len: usize) -> u32 {
    u32::try_from(len).unwrap_or(u32::MAX)
}

/// In-order iterator over an [`OrderTree`].
pub(crate) struct Iter<'a, K> {
    tree: &'a OrderTree<K>,
    /// Inner nodes on the path, with the index of the next child to visit.
    stack: Vec<(&'a [Child<K>], usize)>,
    leaf: &'a [u32],
    pos: usize,
}

impl<'a, K> Iter<'a, K> {
    fn descend(&mut self, mut node: u32) {
        let tree = self.tree;
        loop {
            match &tree.nodes[node as usize] {
                Node::Inner(children) => {
                    self.stack.push((children, 1));
                    node = children[0].node;
                }
                Node::Leaf(items) => {
                    self.leaf = items;
                    self.pos = 0;
                    return;
                }
                Node::Vacant => {
                    self.leaf = &[];
                    self.pos = 0;
                    return;
                }
            }
        }
    }
}

impl<K> Iterator for Iter<'_, K> {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        loop {
            if let Some(&item) = self.leaf.get(self.pos) {
                self.pos += 1;
                return Some(item);
            }
            let (children, next) = self.stack.last_mut()?;
            match children.get(*next) {
                Some(child) => {
                    *next += 1;
                    let node = child.node;
                    self.descend(node);
                }
                None => {
                    self.stack.pop();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use proptest::collection;
    use proptest::prelude::*;

    use super::*;

    /// Handles are the keys themselves here.
    fn key_of(x: u32) -> u32 {
        x
    }

    fn check(tree: &OrderTree<u32>) {
        tree.check(&key_of);
    }

    #[test]
    fn sequential_inserts_fill_leaves() {
        let mut tree = OrderTree::<u32>::new();
        for i in 0..100_000u32 {
            assert_eq!(tree.insert(i, i, &key_of), i as usize);
        }
        check(&tree);
        let leaves = tree
            .nodes
            .iter()
            .filter(|n| matches!(n, Node::Leaf(_)))
            .count();
        // Appends split off only the newcomer, so leaves are (nearly all) full.
        assert!(leaves <= 100_000 / LEAF_MAX + 1, "{leaves} leaves");
    }

    #[test]
    fn ranks_and_removals_match_a_sorted_vec() {
        let mut tree = OrderTree::<u32>::new();
        let mut model: Vec<u32> = Vec::new();
        // A cheap deterministic shuffle.
        let mut x = 12345u32;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x
        };
        for _ in 0..20_000 {
            let k = next() % 50_000;
            if let Err(i) = model.binary_search(&k) {
                model.insert(i, k);
                assert_eq!(tree.insert(k, k, &key_of), i);
            }
        }
        check(&tree);
        for (i, &k) in model.iter().enumerate().step_by(97) {
            assert_eq!(tree.rank(k, &k), Some(i));
        }
        assert_eq!(tree.rank(50_001, &50_001), None);
        while !model.is_empty() {
            let r = next() % 4;
            if r == 0 {
                assert_eq!(tree.pop_first(&key_of), Some(model.remove(0)));
            } else {
                let i = next() as usize % model.len();
                let k = model.remove(i);
                assert_eq!(tree.remove(k, &k, &key_of), Some(i));
            }
            if model.len().is_multiple_of(1000) {
                check(&tree);
            }
        }
        check(&tree);
        assert_eq!(tree.len(), 0);
        assert_eq!(tree.pop_first(&key_of), None);
        assert_eq!(tree.iter().count(), 0);
    }

    #[test]
    fn freed_nodes_are_reused() {
        let mut tree = OrderTree::<u32>::new();
        for round in 0..5u32 {
            for i in 0..10_000u32 {
                tree.insert(i, i, &key_of);
            }
            while tree.pop_first(&key_of).is_some() {}
            check(&tree);
            assert!(
                tree.nodes.len() < 200,
                "round {round}: {}",
                tree.nodes.len()
            );
        }
    }

    /// Random inserts, removals and pops against a sorted Vec, in bursts large enough
    /// to split, share, merge and collapse nodes on several levels.
    fn agrees_with_a_sorted_vec(bursts: Vec<(u8, usize, u32)>) -> Result<(), TestCaseError> {
        let mut tree = OrderTree::<u32>::new();
        let mut model: Vec<u32> = Vec::new();
        for (kind, count, seed) in bursts {
            let mut x = seed | 1;
            for i in 0..count {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                match kind {
                    // Inserts: random keys, or rising keys (the append path).
                    0 | 1 => {
                        let k = if kind == 0 {
                            x % 1_000_000
                        } else {
                            1_000_000 + seed % 1000 * 3000 + i as u32
                        };
                        if let Err(at) = model.binary_search(&k) {
                            model.insert(at, k);
                            prop_assert_eq!(tree.insert(k, k, &key_of), at);
                        }
                    }
                    2 if !model.is_empty() => {
                        let k = model.remove(x as usize % model.len());
                        prop_assert!(tree.remove(k, &k, &key_of).is_some());
                    }
                    _ => prop_assert_eq!(
                        tree.pop_first(&key_of),
                        (!model.is_empty()).then(|| model.remove(0))
                    ),
                }
            }
            check(&tree);
            prop_assert_eq!(tree.iter().collect::<Vec<_>>(), model.clone());
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(32))]

        #[test]
        fn tree_agrees_with_a_sorted_vec(
            bursts in collection::vec((0u8..4, 1usize..3000, any::<u32>()), 1..12)
        ) {
            agrees_with_a_sorted_vec(bursts)?;
        }
    }
}
