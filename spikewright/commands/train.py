"""`spikewright train`: train a conversion-ready ANN and save a checkpoint."""

from __future__ import annotations

import json
import shlex
import sys
import time

from tqdm import tqdm

from spikewright.commands.args import (add_data_root_argument, at_least, fraction,
                                       non_negative_number, positive_number, weight_width)

__all__ = ["add_parser"]

DEFAULT_ARCH = "mlp:768"
DEFAULT_TIMESTEPS = 1
DISTILL_WEIGHT, DISTILL_TEMPERATURE = 0.5, 4.0


def add_parser(sub):
    p = sub.add_parser("train", help="train an ANN with the conversion-aware activation",
                       description="Train an ANN with the conversion-aware activation "
                                   "(floor(k clip(z, 0, T/k)) / k) and save a checkpoint.")
    p.add_argument("--dataset", default="mnist", help="mnist, fashion-mnist, digits, cifar10, "
                   "cifar100 (default: mnist)")
    add_data_root_argument(p)
    p.add_argument("--arch", default=None,
                   help=f"'seed-cnn', 'mlp:H1[,H2...]' or a JSON layer list (default: "
                        f"{DEFAULT_ARCH}; not with --init)")
    p.add_argument("--timesteps", "-T", type=at_least(1), default=None,
                   help=f"time steps T (default: {DEFAULT_TIMESTEPS}; not with --init)")
    p.add_argument("--k", type=at_least(1), default=None,
                   help="quantization factor k; theta = T/k (default: 4*T)")
    p.add_argument("--ice", action="store_true", default=None,
                   help="input channel expansion (grids k-1, k, k+1; not with --init)")
    p.add_argument("--epochs", type=at_least(0), default=20,
                   help="epochs (default: 20; 0 with --init and --recalibrate-bn only "
                        "recalibrates)")
    p.add_argument("--lr", type=positive_number, default=2e-3,
                   help="learning rate (cosine decay to 0)")
    p.add_argument("--optimizer", choices=["adam", "sgd"], default="adam",
                   help="adam (default) or sgd with momentum 0.9 (gentler for fine-tuning)")
    p.add_argument("--batch-size", type=at_least(1), default=128, help="images per optimizer step")
    p.add_argument("--shift", type=at_least(0), default=1, help="random shift in pixels (augmentation)")
    p.add_argument("--rotate", type=non_negative_number, default=0.0, metavar="DEG",
                   help="random rotation in degrees (augmentation; default: 0)")
    p.add_argument("--weight-decay", type=non_negative_number, default=0.0,
                   help="L2 weight decay")
    p.add_argument("--limit", type=at_least(1), default=None,
                   help="use only the first N training images (after the validation split)")
    p.add_argument("--validation", type=at_least(0), default=None, metavar="N",
                   help="hold out the last N images of the training split for validation: "
                        "the epoch kept and --patience use them, never the test split, which "
                        "is read once at the end (default: 5,000, or a tenth of a split under "
                        "10,000: golden.datasets.validation_size; 0: none, the last epoch is "
                        "kept)")
    p.add_argument("--patience", type=at_least(1), default=None,
                   help="stop after this many epochs without a better validation accuracy "
                        "(default: run every epoch)")
    p.add_argument("--seed", type=int, default=0, help="seed of initialization and shuffling")
    p.add_argument("--threads", type=at_least(1), default=None, help="torch CPU threads")
    p.add_argument("--init", default=None, metavar="CHECKPOINT",
                   help="start from this checkpoint's weights, with its architecture, T, k and "
                        "ICE (so not with --arch, -T, --k or --ice)")
    p.add_argument("--weight-width", type=weight_width, default=None,
                   help="train with the weights integerized to this many bits exactly as "
                        "`spikewright convert` will (BatchNorm statistics frozen); best as a "
                        "short fine-tune with --init")
    p.add_argument("--exact-thresholds", action="store_true",
                   help="with --weight-width: the scales of `convert --exact-thresholds`")
    p.add_argument("--teacher", default=None, metavar="CHECKPOINT",
                   help="distil from this trained network (same dataset; any architecture, T "
                        "or weight width): the loss mixes cross-entropy with the teacher's "
                        "softened outputs (golden.train.distillation_loss; default: none)")
    p.add_argument("--distill-weight", type=fraction, default=None,
                   help=f"with --teacher: the soft term's share of the loss, 0 to 1 "
                        f"(default: {DISTILL_WEIGHT})")
    p.add_argument("--distill-temperature", type=positive_number, default=None,
                   help=f"with --teacher: the softmax temperature of both outputs "
                        f"(default: {DISTILL_TEMPERATURE})")
    p.add_argument("--recalibrate-bn", action="store_true",
                   help="after training, replace the BatchNorm running statistics by their "
                        "exact values over the training images (no augmentation), layer by "
                        "layer in evaluation mode; conversion folds these statistics")
    p.add_argument("--out", "-o", required=True,
                   help="checkpoint file to write (.pt); rewritten after every epoch, so an "
                        "interrupted run keeps its last completed epoch")
    p.set_defaults(func=run)


def run(args) -> int:
    import copy

    import torch
    from spikewright.golden.datasets import (dataset_info, hold_out, load_dataset,
                                             validation_size)
    from spikewright.golden.train import (ConvertibleNet, evaluate, load_checkpoint,
                                         parse_arch, recalibrate_batchnorm, save_checkpoint,
                                         train_model)
    from spikewright.flow import prepare_output_file
    prepare_output_file(args.out)
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.epochs < 0 or (args.epochs == 0 and not (args.init and args.recalibrate_bn)):
        raise ValueError(f"--epochs must be at least 1 (0 only with --init and "
                         f"--recalibrate-bn), not {args.epochs}")
    if args.recalibrate_bn and args.weight_width is not None:
        raise ValueError("--recalibrate-bn works on float weights; it cannot be "
                         "combined with --weight-width")
    if args.exact_thresholds and args.weight_width is None:
        raise ValueError("--exact-thresholds needs --weight-width (the width to train at)")
    from_init = [option for option, value in (("--arch", args.arch), ("-T", args.timesteps),
                                              ("--k", args.k), ("--ice", args.ice))
                 if value is not None]
    if args.init and from_init:
        raise ValueError(f"--init {args.init} trains its checkpoint's architecture, T, k and "
                         f"ICE; leave out {', '.join(from_init)}")
    args.arch = args.arch or DEFAULT_ARCH
    args.timesteps = args.timesteps or DEFAULT_TIMESTEPS
    args.ice = bool(args.ice)
    info = dataset_info(args.dataset)
    k = args.k if args.k is not None else 4 * args.timesteps
    arch = parse_arch(args.arch, info["classes"])
    x, y = load_dataset(args.dataset, "train", args.data_root)
    train_images = len(x)
    held_out = validation_size(train_images) if args.validation is None else args.validation
    if args.patience is not None and held_out == 0:
        raise ValueError("--patience needs a validation split; drop --validation 0")
    x, y, xv, yv = hold_out(x, y, held_out)
    x, y = x[:args.limit], y[:args.limit]
    parent = None
    if args.init:
        model, parent = load_checkpoint(args.init)
        if parent.get("dataset") not in (None, args.dataset):
            raise ValueError(f"--init {args.init} was trained on {parent['dataset']}, "
                             f"not {args.dataset}")
    else:
        model = ConvertibleNet(arch, info["shape"], args.timesteps, k, args.ice, seed=args.seed)
    if args.weight_width is not None:
        try:
            model.quantize_weights(args.weight_width, args.exact_thresholds)
        except ValueError as error:
            raise ValueError(f"--weight-width: {error}") from None
    teacher = None
    if not args.teacher and (args.distill_weight, args.distill_temperature) != (None, None):
        raise ValueError("--distill-weight and --distill-temperature need --teacher CHECKPOINT")
    if args.teacher:
        teacher, taught = load_checkpoint(args.teacher)
        if taught.get("dataset") not in (None, args.dataset):
            raise ValueError(f"--teacher {args.teacher} was trained on {taught['dataset']}, "
                             f"not {args.dataset}")
        if (teacher.arch[-1][1], teacher.input_shape) != (info["classes"], tuple(info["shape"])):
            raise ValueError(f"--teacher {args.teacher} takes {teacher.input_shape} inputs to "
                             f"{teacher.arch[-1][1]} classes; {args.dataset} has "
                             f"{tuple(info['shape'])} inputs and {info['classes']} classes")
    distillation = {"teacher": args.teacher,
                    "weight": (DISTILL_WEIGHT if args.distill_weight is None
                               else args.distill_weight),
                    "temperature": (DISTILL_TEMPERATURE if args.distill_temperature is None
                                    else args.distill_temperature)}
    bar = tqdm(total=args.epochs * -(-len(x) // args.batch_size), unit="batch",
               desc=f"train {'--init' if args.init else args.arch} T={model.timesteps}",
               file=sys.stderr)

    def progress(step, total, loss):
        bar.update(1)
        bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

    history_so_far = []
    best = {"epoch": None, "accuracy": -1.0, "state": None}

    def save(history, seconds, **extra):
        save_checkpoint(model, args.out, dataset=args.dataset, seed=args.seed,
                        epochs=args.epochs, command="spikewright " + shlex.join(sys.argv[1:]),
                        train_time_s=seconds, torch_threads=torch.get_num_threads(),
                        distillation=distillation if args.teacher else None,
                        history=history, init=None if parent is None else {
                            key: parent.get(key) for key in (
                                "command", "seed", "epochs", "train_time_s", "torch_threads",
                                "history", "accuracy", "init")}, **extra)

    def on_epoch(epoch, record):
        """Keep the epoch of the best validation accuracy; True: stop (--patience)."""
        shown = ""
        if held_out:
            record["validation_ann_quant"] = evaluate(model, xv, yv)
            shown = f" validation(quant) {record['validation_ann_quant']:.4f}"
        if not held_out or record["validation_ann_quant"] > best["accuracy"]:
            best.update(epoch=epoch, accuracy=record.get("validation_ann_quant", -1.0),
                        state=copy.deepcopy(model.state_dict()))
        bar.write(f"epoch {epoch}: loss {record['loss']:.4f} train {record['train_accuracy']:.4f}"
                  f"{shown} ({record['seconds']:.0f} s)")
        history_so_far.append(record)
        if epoch < args.epochs:
            save(history_so_far, time.time() - start, completed_epochs=epoch)
        return args.patience is not None and epoch - best["epoch"] >= args.patience

    start = time.time()
    history = train_model(model, x, y, epochs=args.epochs, lr=args.lr,
                          batch_size=args.batch_size, max_shift=args.shift,
                          max_rotation=args.rotate, seed=args.seed,
                          weight_decay=args.weight_decay, optimizer=args.optimizer,
                          teacher=teacher, distill_weight=distillation["weight"],
                          distill_temperature=distillation["temperature"],
                          progress=progress, on_epoch=on_epoch)
    bar.close()
    if best["state"] is not None:
        model.load_state_dict(best["state"])
    if args.recalibrate_bn:
        try:
            recalibrate_batchnorm(model, x)
        except ValueError as error:
            raise ValueError(f"--recalibrate-bn: {error}") from None
    seconds = time.time() - start
    validation = {"images": held_out, "first_index": train_images - held_out,
                  "kept_epoch": best["epoch"]}
    xt, yt = load_dataset(args.dataset, "test", args.data_root)  # read once, at the end
    accuracy = {"ann_float": evaluate(model, xt, yt, quantized=False),
                "ann_quant": evaluate(model, xt, yt)}
    if held_out:
        accuracy["validation_ann_quant"] = evaluate(model, xv, yv)
    save(history, seconds, accuracy=accuracy, completed_epochs=len(history),
         recalibrated_bn=args.recalibrate_bn, validation=validation)
    print(json.dumps({"checkpoint": str(args.out), "train_time_s": round(seconds, 1),
                      "accuracy": accuracy}))
    return 0
