"""The ``fedavg`` method: ResNet18 + RNN trained with FedAvg, every training participant one client."""

from __future__ import annotations

import torch

from privbench.config import to_dict
from privbench.data.frames import FrameWindowDataset
from privbench.data.layout import Dataset
from privbench.data.splits import Split
from privbench.errors import ConfigError
from privbench.federated.client import LocalTraining
from privbench.federated.client_privacy import ClientPrivacy
from privbench.federated.engine import FoldContext
from privbench.federated.server import FederationPlan, ServerStep
from privbench.federated.stages import clients_per_round, standard_step
from privbench.methods import ENGINES
from privbench.methods.base import METHODS, FoldOutput
from privbench.methods.configs import FedAvgConfig
from privbench.methods.frame_fold import FrameFold, public_frames
from privbench.progress import Progress
from privbench.settings import poisson_secure_rounds
from privbench.train.frame_pretrain import pretrain_frames


def local_training(config: FedAvgConfig, clients: int) -> LocalTraining:
    """What the server tells every client about local training, with the client side of ``dp.mode`` for
    ``clients`` training participants; under ``trainable=head`` no warm-up rounds (the backbone comes warmed up)."""
    windows, optim, frames, federation = config.windows, config.optim, config.frames, config.federation
    return LocalTraining(seq_len=windows.seq_len, stride=windows.stride, batch_size=optim.batch_size,
                         local_epochs=federation.local_epochs, lr=optim.lr, loss=optim.loss,
                         warmup_rounds=0 if federation.trainable == "head" else federation.warmup_rounds,
                         warmup_steps=frames.warmup_steps, warmup_batch=frames.warmup_batch,
                         backbone_lr_scale=frames.backbone_lr_scale, trainable=federation.trainable,
                         privacy=client_side(config, clients))


def client_side(config: FedAvgConfig, clients: int) -> ClientPrivacy:
    """What each client does for privacy under ``dp`` (privbench.defences.federated.client_privacy)."""
    dp, federation = config.dp, config.federation
    if not dp.enabled or dp.mode == "server":
        return ClientPrivacy()
    from privbench.defences.federated import client_privacy, dp_record  # opacus: only DP runs import it

    return client_privacy(dp, dp_record(dp, clients=clients, rounds=federation.rounds,
                                        client_fraction=federation.client_fraction))


def public_backbone(dataset: Dataset, fold: FrameFold, config: FedAvgConfig, *, seed: int, device: torch.device,
                    progress: Progress) -> None:
    """``trainable=head``: the server warms the backbone up on a public population (``public_frames``, generator
    seed ``dp.public_seed``) for ``warmup_rounds x warmup_steps`` frame steps before the first round; the clients
    then keep it frozen."""
    frames, steps = config.frames, config.federation.warmup_rounds * config.frames.warmup_steps
    if steps:
        public = public_frames(dataset, fold, seed=config.dp.public_seed, progress=progress)
        pretrain_frames(fold.model, public, steps=steps, batch_size=frames.warmup_batch, lr=config.optim.lr,
                        loss_name=config.optim.loss, seed=seed, device=device, progress=progress)
    else:
        fold.notes["frame_warmup"] = "none (trainable=head with warmup_rounds or warmup_steps 0)"
    fold.notes["trainable"] = "head: the backbone frozen after the public warm-up; the clients train the rest"


def federation_plan(config: FedAvgConfig) -> FederationPlan:
    """The server loop's settings."""
    federation = config.federation
    return FederationPlan(rounds=federation.rounds, client_fraction=federation.client_fraction,
                          min_clients=federation.min_clients, aggregation=federation.aggregation,
                          patience=config.stopping.patience, capture_mb=federation.capture_updates_mb,
                          client_timeout=federation.client_timeout, server_momentum=federation.server_momentum)


class FedAvgMethod:
    """Each training participant trains locally; the server averages; the held-out fold is scored."""

    config_type = FedAvgConfig
    needs_frames = True
    description = "ResNet18 + RNN trained with FedAvg, one client per participant"

    def train_fold(
        self, dataset: Dataset, split: Split, config: FedAvgConfig, rnn: str, seed: int,
        device: torch.device, progress: Progress,
    ) -> FoldOutput:
        if config.federation.min_clients > len(split.train):
            raise ConfigError(f"min_clients {config.federation.min_clients} is more than the {len(split.train)} "
                              "training participants")
        if config.secagg.enabled:
            check_secure_fold(config, len(split.train))
        engine = ENGINES.get(config.deployment.engine)
        fold = FrameFold.prepare(dataset, split, config, rnn, seed, device, local_train=engine.local_data,
                                 frozen_backbone=config.federation.trainable == "head")
        if config.dp.per_example and engine.local_data:
            check_client_delta(config, fold)
        if config.federation.trainable == "head":
            public_backbone(dataset, fold, config, seed=seed, device=device, progress=progress)
        # an engine whose server runs elsewhere (deployment) builds the step from the settings it is sent
        server = server_step(config, len(split.train)) if engine.local_data else None
        training = local_training(config, len(split.train))
        history = engine(fold.model, {s.participant: s for s in fold.train}, training=training,
                         plan=federation_plan(config), validator=fold.validator, seed=seed, device=device,
                         progress=progress, fold=fold_context(dataset, split, config, rnn), server=server)
        fold.notes.update({"engine": config.deployment.engine, **history.notes})
        return fold.output(
            history,
            efficiency={"train_seconds_parallel": history.seconds_parallel, "client_seconds": history.client_seconds,
                        "train_seconds_per_client": sum(history.epoch_seconds) / len(split.train),
                        "bytes_up": history.bytes_up, "bytes_down": history.bytes_down,
                        "rounds": len(history.train_loss), "dropped_clients": history.dropped},
            updates=history.updates,
            privacy=history.privacy,
        )


def server_step(config: FedAvgConfig, clients: int) -> ServerStep | None:
    """The server step the settings ask for, for ``clients`` training participants: client-level DP's
    (``dp.mode``, privbench.defences.federated), under secure aggregation (``secagg``, privbench.federated.secure)
    or both; None for the standard step."""
    dp, secagg, federation = config.dp, config.secagg, config.federation
    if not dp.enabled and not secagg.enabled:
        return None
    step = standard_step()
    if dp.enabled:
        from privbench.defences.federated import dp_step  # opacus: only DP runs import it

        step = dp_step(dp, clients=clients, rounds=federation.rounds, client_fraction=federation.client_fraction)
    if secagg.enabled:
        from privbench.federated.secure import secure_step  # flwr's quantisation: only secure runs import it

        poisson = poisson_secure_rounds(dp)  # check_secure_fold ran in train_fold, for every engine
        step = secure_step(step, secagg, expected=federation.client_fraction * clients if poisson else None,
                           skip_small=poisson)
    return step


def check_secure_fold(config: FedAvgConfig, clients: int) -> None:
    """What SecAgg+ needs of a fold of ``clients`` training participants: at least its threshold per round
    (expected, under Poisson sampling) and a sum that cannot overflow the masks' modulus."""
    secagg, federation = config.secagg, config.federation
    poisson = poisson_secure_rounds(config.dp)
    per_round = federation.client_fraction * clients if poisson else clients_per_round(
        clients, client_fraction=federation.client_fraction, min_clients=federation.min_clients)
    if per_round < secagg.reconstruction_threshold:
        raise ConfigError(f"secure aggregation: {per_round:g} {'expected ' if poisson else ''}clients per round is "
                          f"below secagg.reconstruction_threshold ({secagg.reconstruction_threshold}); SecAgg+ "
                          "cannot unmask such a round")
    if clients * secagg.quantization_range >= secagg.modulus_range:
        raise ConfigError(f"secure aggregation: {clients} clients x secagg.quantization_range "
                          f"{secagg.quantization_range} reach secagg.modulus_range {secagg.modulus_range}: the sum "
                          "would overflow")


def check_client_delta(config: FedAvgConfig, fold: FrameFold) -> None:
    """Client DP-SGD: ``dp.delta`` below 1 / the windows of the smallest client (each client's privacy units)."""
    windows = min(len(FrameWindowDataset([s], config.windows.seq_len, config.windows.stride)) for s in fold.train)
    if config.dp.delta >= 1 / windows:
        raise ConfigError(f"dp.delta {config.dp.delta:g} must be below 1 / the {windows} windows of the smallest "
                          "client (dp.mode=dpsgd: the window is the unit)")


def fold_context(dataset: Dataset, split: Split, config: FedAvgConfig, rnn: str) -> FoldContext:
    """The fold as files and settings (what the deployment engine sends to its ServerApp)."""
    deployment = config.deployment
    return FoldContext(dataset=str(dataset.root.resolve()), train=tuple(split.train),
                       validation=tuple(split.validation), config=to_dict(config), rnn=rnn,
                       superlink=deployment.superlink, superlink_ca=deployment.superlink_ca,
                       deployment_timeout=deployment.deployment_timeout)


METHODS.register("fedavg")(FedAvgMethod())
