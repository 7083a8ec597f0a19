"""What the training scripts of tools/ share: one optimiser step and the progress line (the order of operations
is fixed, so a rebuild reproduces the shipped checkpoints bit for bit)."""
import time


def optimiser_step(loss, optimiser, schedule):
    """Backpropagate ``loss`` and take one step of the optimiser and of its learning-rate schedule."""
    optimiser.zero_grad(set_to_none=True)
    loss.backward()
    optimiser.step()
    schedule.step()


def log_epoch(log, epoch, epochs, loss, start):
    """Every 5th and the last epoch: ``epoch  e/E  loss L  S s`` through ``log`` (None: silent)."""
    if log and (epoch % 5 == 4 or epoch == epochs - 1):
        log(f"epoch {epoch + 1:3d}/{epochs}  loss {loss.item():.3f}  {time.perf_counter() - start:.0f} s")
