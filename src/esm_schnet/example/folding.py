"""Folding: secondary-structure plans, greedy clash-free placement, sequence assignment."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from esm_schnet.example.geometry import ATOM_MIN, CA_MIN, HELIX, LOOP_REGIONS, PACK_DIST, SC_DIST, SC_MIN, STRAND, W_CENTRE, _BURIED, _CHARGED, _POLAR, _PREF, _cdist, _random_rotation, build_segment, ideal_cb


@dataclass
class ChainModel:
    """One chain of a synthetic model (coordinates in Angstrom)."""

    name: str
    backbone: np.ndarray  # [n, 4, 3] N, CA, C, O
    ss: str  # per residue H/E/L
    sequence: str = ""
    numbers: list[int] = field(default_factory=list)
    icodes: list[str] = field(default_factory=list)
    hetero: set[int] = field(default_factory=set)  # residue positions written as MSE HETATM

    @property
    def ca(self) -> np.ndarray:
        return self.backbone[:, 1]

    def __len__(self) -> int:
        return len(self.backbone)


def _ss_plan(n: int, helix_frac: float, rng: np.random.Generator) -> list[tuple[str, int]]:
    """Alternating loops and elements that add up to n residues (first and last: loops)."""
    plan: list[tuple[str, int]] = [("L", int(rng.integers(2, 5)))]
    total = plan[0][1]
    while total < n:
        if rng.random() < helix_frac:
            el = ("H", int(rng.integers(8, 19)))
        else:
            el = ("E", int(rng.integers(5, 10)))
        loop = ("L", int(rng.integers(3, 7)))
        plan += [el, loop]
        total += el[1] + loop[1]
    # trim the excess from the end
    while total - plan[-1][1] >= n:
        total -= plan.pop()[1]
    kind, length = plan[-1]
    plan[-1] = (kind, length - (total - n))
    return plan


def _dihedrals(kind: str, k: int, m: int, rng: np.random.Generator):
    if kind == "H":
        phi = rng.normal(HELIX[0], 4.0, (k, m))
        psi = rng.normal(HELIX[1], 4.0, (k, m))
    elif kind == "E":
        phi = rng.normal(STRAND[0], 8.0, (k, m))
        psi = rng.normal(STRAND[1], 8.0, (k, m))
        # a gentle right-handed twist per strand, as in real sheets
    else:
        w = LOOP_REGIONS[:, 2] / LOOP_REGIONS[:, 2].sum()
        region = rng.choice(len(LOOP_REGIONS), size=(k, m), p=w)
        phi = LOOP_REGIONS[region, 0] + rng.normal(0, 15.0, (k, m))
        psi = LOOP_REGIONS[region, 1] + rng.normal(0, 15.0, (k, m))
    return np.radians(phi), np.radians(psi)


class _Folder:
    """Greedy, clash-free, compact growth of one or several chains in a common frame."""

    def __init__(self, rng: np.random.Generator, total: int, candidates: int = 256):
        self.rng = rng
        # radius of gyration of a compact globule of `total` residues is ~2.2 N^0.38 A; the
        # C-alpha atoms of such a globule lie within ~1.25 Rg of its centre
        self.target_radius = 1.25 * 2.2 * total**0.38
        self.k = candidates
        self.atoms = np.zeros((0, 5, 3))  # N CA C O CB per placed residue
        self.sc = np.zeros((0, 3))  # side-chain pseudo-atoms
        self.chain_of = np.zeros(0, dtype=int)
        self.pos = np.zeros(0, dtype=int)  # position within its chain
        self.n_chains = 0

    # -- clash tests of K candidate segments against everything placed so far --------------
    def _commit(self, bb: np.ndarray, chain: int, start: int) -> None:
        cb = ideal_cb(bb[:, 0], bb[:, 1], bb[:, 2])
        sc = bb[:, 1] + SC_DIST * (cb - bb[:, 1]) / np.linalg.norm(
            cb - bb[:, 1], axis=-1, keepdims=True
        )
        self.atoms = np.concatenate([self.atoms, np.concatenate([bb, cb[:, None]], 1)])
        self.sc = np.concatenate([self.sc, sc])
        self.chain_of = np.concatenate([self.chain_of, np.full(len(bb), chain)])
        self.pos = np.concatenate([self.pos, start + np.arange(len(bb))])

    def _start(self, chain: int) -> tuple[np.ndarray, float]:
        """N, CA, C of a virtual residue before the chain's first residue, and its psi."""
        rng = self.rng
        if len(self.atoms) == 0:
            origin = np.zeros(3)
        else:
            centre = self.atoms[:, 1].mean(0)
            radius = np.sqrt(((self.atoms[:, 1] - centre) ** 2).sum(1).mean())
            best, best_d = None, -1.0
            for _ in range(64):  # a start point on the surface, away from other atoms
                u = rng.normal(size=3)
                p = centre + (radius + 4.0) * u / np.linalg.norm(u)
                dmin = np.linalg.norm(self.atoms[:, 1] - p, axis=1).min()
                if dmin > 6.0:
                    best = p
                    break
                if dmin > best_d:
                    best, best_d = p, dmin
            origin = best
        rot = _random_rotation(rng)
        local = np.array([[-1.458, 0.0, 0.0], [0.0, 0.0, 0.0], [0.55, 1.42, 0.0]])
        return origin + local @ rot.T, math.radians(140.0)

    def _truncate(self, n: int) -> None:
        self.atoms, self.sc = self.atoms[:n], self.sc[:n]
        self.chain_of, self.pos = self.chain_of[:n], self.pos[:n]

    def _try_unit(self, unit, prev, prev_psi, chain: int, start: int):
        """Best clash-free conformation of one unit, or None after several rounds of candidates.

        Candidates are scored by how many C-alpha contacts (< PACK_DIST) the new residues make
        with those already placed (more is better: the element packs onto the globule), with a
        weak pull towards the centre.
        """
        rng, k = self.rng, self.k
        for _attempt in range(6):
            phis, psis = [], []
            for kind, length in unit:
                ph, ps = _dihedrals(kind, k, length, rng)
                phis.append(ph)
                psis.append(ps)
            phi = np.concatenate(phis, axis=1)
            psi = np.concatenate(psis, axis=1)
            prev_b = np.broadcast_to(prev, (k, 3, 3))
            bb, _ = build_segment(prev_b, phi, psi, np.full(k, prev_psi))
            m = bb.shape[1]
            cb = ideal_cb(bb[:, :, 0], bb[:, :, 1], bb[:, :, 2])
            x = np.concatenate([bb, cb[:, :, None]], axis=2)  # [K, m, 5, 3]
            ca = x[:, :, 1]
            sc = _side_pseudo(x.reshape(-1, 5, 3)).reshape(k, m, 3)
            newpos = start + np.arange(m)
            # inside the new piece
            sep = np.abs(newpos[:, None] - newpos[None, :])
            d = np.linalg.norm(ca[:, :, None] - ca[:, None, :], axis=-1)
            ok = ~((d < CA_MIN) & (sep >= 3)).any(axis=(1, 2))
            d = np.linalg.norm(sc[:, :, None] - sc[:, None, :], axis=-1)
            ok &= ~((d < SC_MIN) & (sep >= 2)).any(axis=(1, 2))
            if len(self.atoms) == 0:
                score = rng.random(k)
            else:
                same = self.chain_of == chain
                osep = np.where(same[None, :], np.abs(newpos[:, None] - self.pos[None, :]), 10**6)
                dca = _cdist(ca.reshape(-1, 3), self.atoms[:, 1]).reshape(k, m, -1)
                ok &= ~((dca < CA_MIN) & (osep >= 3)[None]).any(axis=(1, 2))
                dsc = _cdist(sc.reshape(-1, 3), self.sc).reshape(k, m, -1)
                ok &= ~((dsc < SC_MIN) & (osep >= 2)[None]).any(axis=(1, 2))
                contacts = ((dca < PACK_DIST) & (osep >= 3)[None]).sum(axis=(1, 2)) / m
                centre = self.atoms[:, 1].mean(0)
                dcen = np.linalg.norm(ca - centre, axis=-1).mean(1)
                score = -contacts + W_CENTRE * dcen
            if not ok.any():
                continue
            order = np.argsort(np.where(ok, score, np.inf), kind="stable")
            for best in order[: min(int(ok.sum()), 16)]:
                if len(self.atoms) == 0 or not self._atom_clash(x[best], chain, start):
                    return bb[best], float(psi[best, -1])
        return None

    def _atom_clash(self, x: np.ndarray, chain: int, start: int) -> bool:
        """All-atom test of one candidate piece x [m, 5, 3] against everything placed."""
        m = len(x)
        newpos = start + np.arange(m)
        same = self.chain_of == chain
        osep = np.where(same[None, :], np.abs(newpos[:, None] - self.pos[None, :]), 10**6)
        d = _cdist(x[:, 1], self.atoms[:, 1])
        ii, jj = np.nonzero((d < 9.0) & (osep >= 2))
        if len(ii) == 0:
            return False
        da = np.linalg.norm(x[ii][:, :, None] - self.atoms[jj][:, None, :], axis=-1)
        return bool((da < ATOM_MIN).any())

    def grow(self, n: int, helix_frac: float, name: str) -> ChainModel:
        chain = self.n_chains
        self.n_chains += 1
        plan = _ss_plan(n, helix_frac, self.rng)
        # Place a loop together with the element after it, so the loop orients the element.
        units: list[list[tuple[str, int]]] = []
        i = 0
        while i < len(plan):
            unit = [plan[i]]
            if plan[i][0] == "L" and i + 1 < len(plan):
                unit.append(plan[i + 1])
                i += 1
            units.append(unit)
            i += 1
        base = len(self.atoms)
        first_prev, first_psi = self._start(chain)
        placed: list[tuple[np.ndarray, float]] = []  # (segment backbone, psi of its last residue)
        backtracks = 0
        while len(placed) < len(units):
            u = len(placed)
            prev, prev_psi = (first_prev, first_psi) if u == 0 else (placed[-1][0][-1, :3], placed[-1][1])
            start = sum(len(seg) for seg, _ in placed)
            got = self._try_unit(units[u], prev, prev_psi, chain, start)
            if got is None:
                # dead end: take back the last two pieces and grow them again; with nothing
                # placed yet, start the chain somewhere else
                backtracks += 1
                if backtracks > 200:
                    raise RuntimeError(f"could not fold chain {name} ({n} residues)")
                if not placed:
                    first_prev, first_psi = self._start(chain)
                for _ in range(min(2, len(placed))):
                    placed.pop()
                self._truncate(base + sum(len(seg) for seg, _ in placed))
                continue
            self._commit(got[0], chain, start)
            placed.append(got)
        ss = "".join(kind * length for unit in units for kind, length in unit)
        return ChainModel(name=name, backbone=np.concatenate([seg for seg, _ in placed]), ss=ss)


def _side_pseudo(x: np.ndarray) -> np.ndarray:
    """Side-chain pseudo-atoms (SC_DIST along CA->CB) of residues x [R, 5, 3] (N CA C O CB)."""
    v = x[:, 4] - x[:, 1]
    return x[:, 1] + SC_DIST * v / np.linalg.norm(v, axis=-1, keepdims=True)


def _assign_sequence(
    chains: list[ChainModel], hydrophobic_bias: float, charged: float, rng: np.random.Generator
):
    """Residue types from secondary structure and burial (C-alpha neighbours within 10 A).

    `hydrophobic_bias` shifts the chance that a buried helix/strand position is hydrophobic;
    `charged` is the chance that an exposed position is charged (D, E, K, R): both vary from
    protein to protein, so composition is not just a function of size.
    """
    ca = np.concatenate([c.ca for c in chains])
    burial = (_cdist(ca, ca) < 10.0).sum(1) - 1
    lo, hi = np.percentile(burial, 25), np.percentile(burial, 75)
    offset = 0
    for c in chains:
        seq = []
        for i, kind in enumerate(c.ss):
            b = (burial[offset + i] - lo) / max(hi - lo, 1.0)
            p_buried = float(np.clip(0.15 + 0.55 * b + hydrophobic_bias, 0.02, 0.95))
            if kind != "L" and rng.random() < p_buried:
                pool = _BURIED
            elif rng.random() < 0.4:
                pool = _PREF[kind]
            elif rng.random() < charged:
                pool = _CHARGED
            else:
                pool = _POLAR
            seq.append(pool[int(rng.integers(len(pool)))])
        c.sequence = "".join(seq)
        offset += len(c)


