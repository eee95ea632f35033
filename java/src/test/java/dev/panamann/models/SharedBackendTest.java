package dev.panamann.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.panamann.ops.Ops;
import dev.panamann.tensor.Param;
import dev.panamann.tensor.Rng;
import dev.panamann.tensor.Tensor;
import dev.panamann.testutil.Backs;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two models sharing one backend, each used by its own thread at the same time: every loss,
 * gradient and score equals the one of the same model run alone (the backend keeps no
 * per-call state outside each model's plans and buffers).
 */
class SharedBackendTest {

    private static final int ROUNDS = 12;

    /** Losses, then every gradient and the scores of each round, as floats. */
    private static List<float[]> work(ThreeLayerConvNet net, int seed, CountDownLatch start) throws InterruptedException {
        start.await(10, TimeUnit.SECONDS);
        List<float[]> out = new ArrayList<>();
        Rng r = new Rng(seed);
        for (int i = 0; i < ROUNDS; i++) {
            try (Tensor x = Tensor.randn(r, 1f, 6, 3, 8, 8)) {
                int[] y = {0, 1, 2, 3, 4, i % 5};
                out.add(new float[] {net.loss(x, y)});
                for (Param p : net.params()) out.add(p.grad().toArray());
                out.add(net.scores(x).toArray());
            }
        }
        return out;
    }

    private static ThreeLayerConvNet net(Ops ops, int seed) {
        return new ThreeLayerConvNet(ops, new int[] {3, 8, 8}, 4, 3, 10, 5, 1e-1f, 0.1f, seed);
    }

    @Test
    void twoModelsOnOneBackendFromTwoThreadsGiveTheSequentialResults() throws Exception {
        for (Ops ops : Backs.all()) {
            List<float[]> aAlone, bAlone;
            try (ThreeLayerConvNet a = net(ops, 1); ThreeLayerConvNet b = net(ops, 2)) {
                CountDownLatch go = new CountDownLatch(0);
                aAlone = work(a, 11, go);
                bAlone = work(b, 12, go);
            }
            try (ThreeLayerConvNet a = net(ops, 1); ThreeLayerConvNet b = net(ops, 2)) {
                CountDownLatch go = new CountDownLatch(1);
                CompletableFuture<List<float[]>> fa = CompletableFuture.supplyAsync(() -> call(a, 11, go));
                CompletableFuture<List<float[]>> fb = CompletableFuture.supplyAsync(() -> call(b, 12, go));
                go.countDown();
                List<float[]> aTogether = fa.get(120, TimeUnit.SECONDS), bTogether = fb.get(120, TimeUnit.SECONDS);
                assertEquals(aAlone.size(), aTogether.size());
                for (int i = 0; i < aAlone.size(); i++) {
                    assertArrayEquals(aAlone.get(i), aTogether.get(i), ops.name() + ": model A, result " + i);
                    assertArrayEquals(bAlone.get(i), bTogether.get(i), ops.name() + ": model B, result " + i);
                }
            }
        }
    }

    private static List<float[]> call(ThreeLayerConvNet net, int seed, CountDownLatch go) {
        try {
            return work(net, seed, go);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
    }
}
