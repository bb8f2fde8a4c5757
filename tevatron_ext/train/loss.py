"""The contrastive loss, written once.

For a batch of B queries and B groups of G passages (positive first in each group), scores are
``q @ p.T / temperature`` of shape [B, B*G] (every other query's passages are in-batch negatives)
and the target of query i is passage ``i * G``. With several processes the query and passage
vectors are gathered from all of them first (the local slice keeps its gradient).
"""
from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F


def contrastive_targets(n_queries: int, group_size: int, offset: int = 0, device=None) -> torch.Tensor:
    return (torch.arange(n_queries, device=device) + offset) * group_size


def contrastive_loss(q: torch.Tensor, p: torch.Tensor, group_size: int, temperature: float = 1.0) -> torch.Tensor:
    """Cross-entropy over in-batch and hard negatives (mean over queries)."""
    if p.shape[0] != q.shape[0] * group_size:
        raise ValueError(f"{p.shape[0]} passages for {q.shape[0]} queries with group size {group_size}")
    scores = q @ p.T / temperature
    return F.cross_entropy(scores.float(), contrastive_targets(q.shape[0], group_size, device=q.device))


def gather_with_grad(t: torch.Tensor) -> torch.Tensor:
    """All-gather across processes; the local slice keeps its autograd graph."""
    world = dist.get_world_size()
    parts = [torch.empty_like(t) for _ in range(world)]
    dist.all_gather(parts, t.contiguous())
    parts[dist.get_rank()] = t
    return torch.cat(parts, dim=0)


def distributed_contrastive_loss(q: torch.Tensor, p: torch.Tensor, group_size: int, temperature: float) -> torch.Tensor:
    """Loss over the global batch. DDP averages gradients over the W processes, while every process
    computes the same global mean loss from its own slice's gradient path; multiplying by W makes the
    averaged gradient equal the single-process gradient of the global loss. This is the one place
    the loss is scaled."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return contrastive_loss(q, p, group_size, temperature)
    all_q, all_p = gather_with_grad(q), gather_with_grad(p)
    return contrastive_loss(all_q, all_p, group_size, temperature) * dist.get_world_size()
