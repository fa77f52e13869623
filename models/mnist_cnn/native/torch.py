"""The seed model in plain PyTorch: torch.nn modules on NCHW images, logits and
torch's cross-entropy, torch.optim.Adadelta; eager, as Keras runs torch by default."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from harness.record.schema import Recipe
from models.mnist_cnn.native import FILTERS, HIDDEN, POOL, SeedModel


class Net(nn.Module):
    def __init__(self, channels: int, flat: int, classes: int, dropout: float) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, FILTERS[0], 3)
        self.conv2 = nn.Conv2d(FILTERS[0], FILTERS[1], 3)
        self.drop = nn.Dropout(dropout)
        self.hidden = nn.Linear(flat, HIDDEN)
        self.out = nn.Linear(HIDDEN, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.conv2(F.relu(self.conv1(x))))
        x = self.drop(F.max_pool2d(x, POOL))
        x = torch.sigmoid(self.hidden(torch.flatten(x, 1)))
        return self.out(x)


class Native(SeedModel):
    data_format = "channels_first"
    jit_compile = False
    optimizer = "torch.optim.Adadelta"

    def __init__(self, input_shape, num_classes, seed, dropout=True) -> None:
        super().__init__(input_shape, num_classes, seed, dropout)
        torch.manual_seed(seed)  # the dropout masks
        self.net = Net(self.image[2], self.flat, num_classes, self.dropout)

    def set_weights(self, arrays: list[np.ndarray]) -> None:
        k1, b1, k2, b2, k3, b3, k4, b4 = arrays
        # A Keras kernel is (rows, cols, in, out), torch's (out, in, rows, cols); the
        # hidden layer's inputs are reordered from Keras's flattening to torch's.
        hidden = k3.reshape(*self.pooled, HIDDEN).transpose(2, 0, 1, 3).reshape(-1, HIDDEN)
        values = [
            k1.transpose(3, 2, 0, 1),
            b1,
            k2.transpose(3, 2, 0, 1),
            b2,
            hidden.T,
            b3,
            k4.T,
            b4,
        ]
        with torch.no_grad():
            for p, v in zip(self.net.parameters(), values, strict=True):
                p.copy_(torch.from_numpy(np.ascontiguousarray(v)))

    def get_weights(self) -> list[np.ndarray]:
        k1, b1, k2, b2, w3, b3, w4, b4 = (p.detach().numpy() for p in self.net.parameters())
        rows, cols, depth = self.pooled
        hidden = w3.T.reshape(depth, rows, cols, HIDDEN).transpose(1, 2, 0, 3).reshape(-1, HIDDEN)
        return [
            np.ascontiguousarray(a)
            for a in (k1.transpose(2, 3, 1, 0), b1, k2.transpose(2, 3, 1, 0), b2, hidden, b3,
                      w4.T, b4)
        ]  # fmt: skip

    def compile(self, recipe: Recipe) -> None:
        a = self.adadelta(recipe)
        self.opt = torch.optim.Adadelta(
            self.net.parameters(), lr=a["learning_rate"], rho=a["rho"], eps=a["epsilon"]
        )

    def train_step(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
        self.net.train()
        target = torch.from_numpy(y)
        logits = self.net(torch.from_numpy(x))
        loss = F.cross_entropy(logits, target)  # one-hot targets: class probabilities
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        right = (logits.argmax(1) == target.argmax(1)).float().mean()
        return loss.item(), right.item()

    def predict_on_batch(self, x: np.ndarray) -> np.ndarray:
        self.net.eval()
        with torch.no_grad():
            return torch.softmax(self.net(torch.from_numpy(x)), 1).numpy()
