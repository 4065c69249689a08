"""igraph and leidenalg on a graph file of scripts/bench-graph, timed like enlace-graph.

    graph_igraph.py OUT [--cpm R] [--skip-pagerank] [--skip-leidenalg]

OUT.edges holds `a b` per line (node indices from 0), OUT.truth the planted community of each
node. Prints one JSON object: build, PageRank and Leiden (igraph's own, modularity, iterated
until stable) times, with the modularity and NMI to the planted communities of the partition;
leidenalg's modularity Leiden (iterated until stable) as a second reference; CPM if asked.
"""

import argparse
import json
import time

import igraph as ig
import leidenalg


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("graph")
    ap.add_argument("--cpm", type=float)
    ap.add_argument("--skip-pagerank", action="store_true")
    ap.add_argument("--skip-leidenalg", action="store_true")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    with open(a.graph + ".truth") as f:
        truth = [int(x) for x in f]
    n = len(truth)
    with open(a.graph + ".edges") as f:
        pairs = [tuple(map(int, line.split())) for line in f]

    t = time.perf_counter()
    g = ig.Graph(n=n, edges=pairs, directed=False)
    # Collapse parallel edges into weights, as enlace-graph's adjacency does.
    g.es["weight"] = 1.0
    g.simplify(multiple=True, loops=True, combine_edges="sum")
    build_s = time.perf_counter() - t
    out = {
        "tool": "igraph",
        "igraph_version": ig.__version__,
        "leidenalg_version": leidenalg.version,
        "graph": a.graph,
        "nodes": g.vcount(),
        "edges": g.ecount(),
        "build_s": build_s,
    }
    if not a.skip_pagerank:
        t = time.perf_counter()
        g.pagerank(weights="weight", damping=0.85)
        out["pagerank_s"] = time.perf_counter() - t

    ig.set_random_number_generator(None)
    import random

    random.seed(a.seed)
    t = time.perf_counter()
    part = g.community_leiden(
        objective_function="modularity", weights="weight", n_iterations=-1
    )
    out["leiden_s"] = time.perf_counter() - t
    out["leiden_communities"] = len(part)
    out["leiden_modularity"] = g.modularity(part.membership, weights="weight")
    out["leiden_nmi"] = ig.compare_communities(truth, part.membership, method="nmi")

    # Two iterations (igraph's default), beside enlace-graph's two-iteration run.
    t = time.perf_counter()
    two = g.community_leiden(objective_function="modularity", weights="weight", n_iterations=2)
    out["leiden2_s"] = time.perf_counter() - t
    out["leiden2_modularity"] = g.modularity(two.membership, weights="weight")

    if not a.skip_leidenalg:
        t = time.perf_counter()
        p = leidenalg.find_partition(
            g, leidenalg.ModularityVertexPartition, weights="weight", n_iterations=-1, seed=a.seed
        )
        out["leidenalg_s"] = time.perf_counter() - t
        out["leidenalg_modularity"] = g.modularity(p.membership, weights="weight")
        out["leidenalg_nmi"] = ig.compare_communities(truth, p.membership, method="nmi")

    if a.cpm is not None:
        t = time.perf_counter()
        p = g.community_leiden(
            objective_function="CPM", weights="weight", resolution=a.cpm, n_iterations=-1
        )
        out["cpm_resolution"] = a.cpm
        out["cpm_s"] = time.perf_counter() - t
        out["cpm_communities"] = len(p)
        out["cpm_nmi"] = ig.compare_communities(truth, p.membership, method="nmi")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
