"""A PyTorch training script tuned by torch_digits.yaml, unchanged: tui-tuner runs it once a trial.

It is an ordinary script: it takes its settings as `--name=value` arguments, prints one JSON line per epoch
(the live curves, and what the pruner judges) and a last JSON line with the final metrics. Anything else it
prints lands in the trial's log. Run it by hand too: `python torch_digits.py --lr=0.01 --epochs=5`.

A small MLP on scikit-learn's 8x8 digits, so it runs on a CPU in seconds.
"""

import argparse
import json
import os
import sys

try:
    import torch
    from torch import nn
except ImportError:
    sys.exit("torch_digits.py needs PyTorch: pip install torch  (CPU only, a smaller download: "
             "pip install torch --index-url https://download.pytorch.org/whl/cpu)")

from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--dropout", type=float, default=0.0)
    parser.add_argument("--weight_decay", type=float, default=0.0)
    parser.add_argument("--batch_size", type=int, default=32)
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="adam")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("TUI_TUNER_SEED", 0)))
    return parser.parse_args()


def data() -> tuple[torch.Tensor, ...]:
    """The digits scaled to [0, 1], split once (the same split in every trial) into train and validation."""
    X, y = load_digits(return_X_y=True)
    X_train, X_val, y_train, y_val = train_test_split(X / 16.0, y, test_size=0.25, random_state=0, stratify=y)
    return (torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train),
            torch.tensor(X_val, dtype=torch.float32), torch.tensor(y_val))


def main() -> None:
    args = arguments()
    torch.manual_seed(args.seed)
    torch.set_num_threads(1)  # one core a trial: tui-tuner runs several trials side by side
    X_train, y_train, X_val, y_val = data()
    model = nn.Sequential(nn.Linear(64, args.hidden), nn.ReLU(), nn.Dropout(args.dropout), nn.Linear(args.hidden, 10))
    if args.optimizer == "adam":
        optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    else:
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, weight_decay=args.weight_decay)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()
    print(f"training on {len(X_train)} digits, validating on {len(X_val)}: {args}")
    for epoch in range(args.epochs):
        model.train()
        lr = schedule.get_last_lr()[0]
        total = 0.0
        for batch in torch.randperm(len(X_train)).split(args.batch_size):
            optimizer.zero_grad()
            loss = loss_fn(model(X_train[batch]), y_train[batch])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        schedule.step()
        model.eval()
        with torch.no_grad():
            logits = model(X_val)
            val_loss = loss_fn(logits, y_val).item()
            accuracy = (logits.argmax(dim=1) == y_val).float().mean().item()
        print(json.dumps({"epoch": epoch, "loss": total / len(X_train), "val_loss": val_loss,
                          "accuracy": accuracy, "lr": lr}), flush=True)
    print(json.dumps({"val_loss": val_loss, "accuracy": accuracy}))


if __name__ == "__main__":
    main()
