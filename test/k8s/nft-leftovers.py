#!/usr/bin/env python3
"""Deletes the nftables chains and tables that appeared since a snapshot and hold no rules.

usage: nft-leftovers.py BEFORE.json   (BEFORE.json: `nft -j list ruleset` taken before the node)

iptables-nft creates a table and its built-in chains the first time a rule goes into them (the
kubelet's KUBE-IPTABLES-HINT in mangle, its IPv6 chains), and removing the rules leaves them
empty. Only what is new AND empty goes: a chain or table someone else uses has rules (nft also
refuses to delete a chain that a rule jumps to).
"""
import json
import subprocess
import sys


def ruleset():
    out = subprocess.run(["nft", "-j", "list", "ruleset"], check=True, capture_output=True, text=True, timeout=30).stdout
    return json.loads(out)["nftables"]


def inventory(items):
    tables, chains, rules = set(), set(), {}
    for item in items:
        if "table" in item:
            tables.add((item["table"]["family"], item["table"]["name"]))
        elif "chain" in item:
            c = item["chain"]
            chains.add((c["family"], c["table"], c["name"]))
        elif "rule" in item:
            r = item["rule"]
            key = (r["family"], r["table"], r["chain"])
            rules[key] = rules.get(key, 0) + 1
    return tables, chains, rules


def main():
    with open(sys.argv[1]) as f:
        before_tables, before_chains, _ = inventory(json.load(f)["nftables"])
    tables, chains, rules = inventory(ruleset())
    for family, table, chain in sorted(chains - before_chains):
        if rules.get((family, table, chain), 0) == 0:
            subprocess.run(["nft", "delete", "chain", family, table, chain], capture_output=True, timeout=30)
    tables, chains, _ = inventory(ruleset())
    for family, table in sorted(tables - before_tables):
        if not any(c[:2] == (family, table) for c in chains):
            if subprocess.run(["nft", "delete", "table", family, table], capture_output=True, timeout=30).returncode == 0:
                print(f"k8s: down: removed empty nftables table {family} {table}")


if __name__ == "__main__":
    main()
