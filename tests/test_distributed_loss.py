"""With several processes, negatives are gathered across them and the gradient equals one process's."""
from __future__ import annotations

import os

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tevatron_ext.train.loss import contrastive_loss, distributed_contrastive_loss

B, G, D = 3, 2, 8


def _data():
    g = torch.Generator().manual_seed(0)
    return torch.randn(2 * B, D, generator=g), torch.randn(2 * B * G, D, generator=g)


def _worker(rank: int, world: int, port: int, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=world)
    q_all, p_all = _data()
    q = q_all[rank * B:(rank + 1) * B].clone().requires_grad_(True)
    p = p_all[rank * B * G:(rank + 1) * B * G].clone().requires_grad_(True)
    loss = distributed_contrastive_loss(q, p, G, temperature=0.5)
    loss.backward()
    # each process's slice gets world x its share of the global gradient; DDP's averaging of the
    # parameter gradients over the processes then yields exactly the single-process gradient
    out[rank] = (loss.item() / world, q.grad / world, p.grad / world)
    dist.destroy_process_group()


def test_gathered_loss_matches_single_process():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    manager = mp.Manager()
    out = manager.dict()
    mp.spawn(_worker, args=(2, port, out), nprocs=2, join=True)
    q_all, p_all = _data()
    q_all.requires_grad_(True)
    p_all.requires_grad_(True)
    ref = contrastive_loss(q_all, p_all, G, temperature=0.5)
    ref.backward()
    for rank in range(2):
        loss, gq, gp = out[rank]
        assert loss == pytest.approx(ref.item(), rel=1e-5)
        assert torch.allclose(gq, q_all.grad[rank * B:(rank + 1) * B], atol=1e-6)
        assert torch.allclose(gp, p_all.grad[rank * B * G:(rank + 1) * B * G], atol=1e-6)
