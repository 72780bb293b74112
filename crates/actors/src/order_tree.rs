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
//! The tree stores no keys. Every search takes a comparator that orders a stored handle
//! against the sought key (`Less` = the handle comes before it), so the keys live once,
//! in the caller's storage. Inner nodes route by the first handle of each child.

use std::cmp::Ordering;

/// Handles per leaf. Big leaves keep the per-element overhead near 4 bytes; the memmove
/// inside a 512-byte leaf is cheaper than another tree level.
const LEAF_MAX: usize = 128;
const LEAF_MIN: usize = LEAF_MAX / 2;
/// Children per inner node.
const INNER_MAX: usize = 64;
const INNER_MIN: usize = INNER_MAX / 2;

/// What an inner node knows about one child: enough to route (`first`) and to rank
/// (`size`) without visiting it.
#[derive(Clone, Copy, Debug)]
struct Child {
    node: u32,
    size: u32,
    first: u32,
}

#[derive(Debug)]
enum Node {
    Leaf(Vec<u32>),
    Inner(Vec<Child>),
    /// A slot on the free list.
    Vacant,
}

/// An order-statistics sequence of handles; see the module docs.
#[derive(Debug)]
pub(crate) struct OrderTree {
    /// Nodes live in one arena and point at each other by index: no unsafe, no boxes.
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    len: usize,
}

impl Default for OrderTree {
    fn default() -> Self {
        Self::new()
    }
}

impl OrderTree {
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

    /// Inserts `item`, which `cmp` orders the stored handles against, and returns its
    /// 0-based rank. The caller keeps keys unique.
    pub(crate) fn insert(&mut self, item: u32, cmp: &impl Fn(u32) -> Ordering) -> usize {
        let root = self.root;
        let (rank, split) = self.insert_into(root, item, cmp);
        if let Some(right) = split {
            let (size, first) = self.summary(root);
            let mut children = Vec::with_capacity(INNER_MAX + 1);
            children.push(Child {
                node: root,
                size,
                first,
            });
            children.push(right);
            self.root = self.alloc(Node::Inner(children));
        }
        self.len += 1;
        rank
    }

    /// The 0-based rank of the handle `cmp` reports `Equal` for, if present.
    pub(crate) fn rank(&self, cmp: &impl Fn(u32) -> Ordering) -> Option<usize> {
        let mut node = self.root;
        let mut before = 0usize;
        loop {
            match self.nodes.get(node as usize)? {
                Node::Leaf(items) => {
                    let i = items.partition_point(|&x| cmp(x) == Ordering::Less);
                    let hit = items.get(i).is_some_and(|&x| cmp(x) == Ordering::Equal);
                    return hit.then_some(before + i);
                }
                Node::Inner(children) => {
                    let ci = route(children, cmp);
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

    /// Removes the handle `cmp` reports `Equal` for; returns its rank before removal.
    pub(crate) fn remove(&mut self, cmp: &impl Fn(u32) -> Ordering) -> Option<usize> {
        let rank = self.rank(cmp)?;
        self.remove_at(rank).map(|_| rank)
    }

    /// Removes and returns the handle at `rank`.
    pub(crate) fn remove_at(&mut self, rank: usize) -> Option<u32> {
        if rank >= self.len {
            return None;
        }
        let item = self.remove_from(self.root, rank);
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
    pub(crate) fn pop_first(&mut self) -> Option<u32> {
        self.remove_at(0)
    }

    /// The handles in order.
    pub(crate) fn iter(&self) -> Iter<'_> {
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
        cmp: &impl Fn(u32) -> Ordering,
    ) -> (usize, Option<Child>) {
        match &mut self.nodes[node as usize] {
            Node::Leaf(items) => {
                let i = items.partition_point(|&x| cmp(x) == Ordering::Less);
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
                let child = Child {
                    node: 0,
                    size: len_u32(right.len()),
                    first: right[0],
                };
                let id = self.alloc(Node::Leaf(right));
                (i, Some(Child { node: id, ..child }))
            }
            Node::Inner(children) => {
                let mut ci = route(children, cmp);
                let routed = children[ci].node;
                if self.leaf_len(routed) == Some(LEAF_MAX) {
                    ci = self.make_room(node, ci, cmp);
                }
                let Node::Inner(children) = &self.nodes[node as usize] else {
                    unreachable!("an inner node stays inner while a child is updated");
                };
                let before: usize = children[..ci].iter().map(|c| c.size as usize).sum();
                let child_node = children[ci].node;
                let (rank, split) = self.insert_into(child_node, item, cmp);
                let Node::Inner(children) = &mut self.nodes[node as usize] else {
                    unreachable!("an inner node stays inner while a child is updated");
                };
                let child = &mut children[ci];
                child.size += 1;
                if rank == 0 {
                    child.first = item;
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

    fn remove_from(&mut self, node: u32, rank: usize) -> Option<u32> {
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
                let item = self.remove_from(child_node, within)?;
                let first = self.first_of(child_node);
                let underflow = self.is_underfull(child_node);
                let Node::Inner(children) = &mut self.nodes[node as usize] else {
                    unreachable!("an inner node stays inner while a child is updated");
                };
                children[ci].size -= 1;
                if let Some(first) = first {
                    children[ci].first = first;
                }
                if underflow {
                    self.rebalance(node, ci);
                }
                Some(item)
            }
            Node::Vacant => None,
        }
    }

    /// Merges the under-full child `ci` of `parent` with a sibling, or evens the two out.
    fn rebalance(&mut self, parent: u32, ci: usize) {
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
        let left_summary = self.summary(ln);
        let right_summary = (!merged).then(|| self.summary(rn));
        let Node::Inner(children) = &mut self.nodes[parent as usize] else {
            return;
        };
        (children[l].size, children[l].first) = left_summary;
        match right_summary {
            Some((size, first)) => (children[r].size, children[r].first) = (size, first),
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
    fn make_room(&mut self, parent: u32, ci: usize, cmp: &impl Fn(u32) -> Ordering) -> usize {
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
        let (left_summary, right_summary) = (self.summary(ln), self.summary(rn));
        let Node::Inner(children) = &mut self.nodes[parent as usize] else {
            return ci;
        };
        (children[l].size, children[l].first) = left_summary;
        (children[r].size, children[r].first) = right_summary;
        route(children, cmp)
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

    fn first_of(&self, node: u32) -> Option<u32> {
        match &self.nodes[node as usize] {
            Node::Leaf(items) => items.first().copied(),
            Node::Inner(children) => children.first().map(|c| c.first),
            Node::Vacant => None,
        }
    }

    /// (element count, first handle) of a subtree, as its parent records them.
    fn summary(&self, node: u32) -> (u32, u32) {
        match &self.nodes[node as usize] {
            Node::Leaf(items) => (len_u32(items.len()), items.first().copied().unwrap_or(0)),
            Node::Inner(children) => (
                children.iter().map(|c| c.size).sum(),
                children.first().map_or(0, |c| c.first),
            ),
            Node::Vacant => (0, 0),
        }
    }

    fn alloc(&mut self, node: Node) -> u32 {
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

    /// Checks every structural invariant; for tests.
    #[cfg(test)]
    pub(crate) fn check(&self, cmp: &impl Fn(u32, u32) -> Ordering) {
        fn walk(
            tree: &OrderTree,
            node: u32,
            is_root: bool,
            depth: usize,
            leaf_depth: &mut Option<usize>,
            out: &mut Vec<u32>,
        ) -> (u32, Option<u32>) {
            match &tree.nodes[node as usize] {
                Node::Leaf(items) => {
                    // Append splits leave a short leaf at the right; only removals must
                    // never leave an empty one behind.
                    assert!(is_root || !items.is_empty(), "empty leaf");
                    assert!(items.len() <= LEAF_MAX);
                    assert_eq!(*leaf_depth.get_or_insert(depth), depth, "leaves level");
                    out.extend(items);
                    (len_u32(items.len()), items.first().copied())
                }
                Node::Inner(children) => {
                    assert!(children.len() >= if is_root { 2 } else { INNER_MIN });
                    assert!(children.len() <= INNER_MAX);
                    for c in children {
                        let (size, first) = walk(tree, c.node, false, depth + 1, leaf_depth, out);
                        assert_eq!(size, c.size, "child size");
                        assert_eq!(first, Some(c.first), "child first");
                    }
                    (
                        children.iter().map(|c| c.size).sum(),
                        children.first().map(|c| c.first),
                    )
                }
                Node::Vacant => panic!("vacant node linked"),
            }
        }
        let mut out = Vec::new();
        let (size, _) = walk(self, self.root, true, 0, &mut None, &mut out);
        assert_eq!(size as usize, self.len);
        assert!(out.windows(2).all(|w| cmp(w[0], w[1]) == Ordering::Less));
        assert_eq!(out, self.iter().collect::<Vec<_>>());
    }
}

/// The child whose range holds the sought key: the last one whose first handle does not
/// come after it (or the first child, for a key before everything).
fn route(children: &[Child], cmp: &impl Fn(u32) -> Ordering) -> usize {
    children
        .partition_point(|c| cmp(c.first) != Ordering::Greater)
        .saturating_sub(1)
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
pub(crate) struct Iter<'a> {
    tree: &'a OrderTree,
    /// Inner nodes on the path, with the index of the next child to visit.
    stack: Vec<(&'a [Child], usize)>,
    leaf: &'a [u32],
    pos: usize,
}

impl<'a> Iter<'a> {
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

impl Iterator for Iter<'_> {
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
    fn cmp_to(key: u32) -> impl Fn(u32) -> Ordering {
        move |x| x.cmp(&key)
    }

    fn check(tree: &OrderTree) {
        tree.check(&|a: u32, b: u32| a.cmp(&b));
    }

    #[test]
    fn sequential_inserts_fill_leaves() {
        let mut tree = OrderTree::new();
        for i in 0..100_000u32 {
            assert_eq!(tree.insert(i, &cmp_to(i)), i as usize);
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
        let mut tree = OrderTree::new();
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
                assert_eq!(tree.insert(k, &cmp_to(k)), i);
            }
        }
        check(&tree);
        for (i, &k) in model.iter().enumerate().step_by(97) {
            assert_eq!(tree.rank(&cmp_to(k)), Some(i));
        }
        assert_eq!(tree.rank(&cmp_to(50_001)), None);
        while !model.is_empty() {
            let r = next() % 4;
            if r == 0 {
                assert_eq!(tree.pop_first(), Some(model.remove(0)));
            } else {
                let i = next() as usize % model.len();
                let k = model.remove(i);
                assert_eq!(tree.remove(&cmp_to(k)), Some(i));
            }
            if model.len().is_multiple_of(1000) {
                check(&tree);
            }
        }
        check(&tree);
        assert_eq!(tree.len(), 0);
        assert_eq!(tree.pop_first(), None);
        assert_eq!(tree.iter().count(), 0);
    }

    #[test]
    fn freed_nodes_are_reused() {
        let mut tree = OrderTree::new();
        for round in 0..5u32 {
            for i in 0..10_000u32 {
                tree.insert(i, &cmp_to(i));
            }
            while tree.pop_first().is_some() {}
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
        let mut tree = OrderTree::new();
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
                            prop_assert_eq!(tree.insert(k, &cmp_to(k)), at);
                        }
                    }
                    2 if !model.is_empty() => {
                        let k = model.remove(x as usize % model.len());
                        prop_assert!(tree.remove(&cmp_to(k)).is_some());
                    }
                    _ => prop_assert_eq!(
                        tree.pop_first(),
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
