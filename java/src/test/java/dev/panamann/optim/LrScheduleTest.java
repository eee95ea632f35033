package dev.panamann.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class LrScheduleTest {

    /** The Solver's lr decay multiplied the rate once per epoch: the schedule gives the same bits. */
    @Test
    void exponentialIsTheBitsOfMultiplyingOncePerEpoch() {
        for (double gamma : new double[] {0.9, 0.95, 0.7, 1.3}) {
            for (double initial : new double[] {1e-3, 1.6e-3, 0.1}) {
                LrSchedule s = LrSchedule.exponential(gamma);
                double lr = initial;
                for (int e = 0; e < 40; e++) {
                    assertEquals(Double.doubleToRawLongBits(lr), Double.doubleToRawLongBits(s.rate(initial, e, 40)),
                            "gamma " + gamma + " epoch " + e);
                    lr *= gamma;
                }
            }
        }
        assertSame(LrSchedule.constant(), LrSchedule.exponential(1.0));
    }

    @Test
    void stepDecaysEveryKEpochs() {
        LrSchedule s = LrSchedule.step(3, 0.5);
        double[] expected = {0.8, 0.8, 0.8, 0.4, 0.4, 0.4, 0.2};
        for (int e = 0; e < expected.length; e++) assertEquals(expected[e], s.rate(0.8, e, 10), 0, "epoch " + e);
        assertEquals("step(every=3, gamma=0.5)", s.describe());
    }

    @Test
    void cosineGoesFromInitialToMin() {
        LrSchedule s = LrSchedule.cosine(1e-4);
        assertEquals(0.1, s.rate(0.1, 0, 10), 1e-15);
        assertEquals((0.1 + 1e-4) / 2, s.rate(0.1, 5, 10), 1e-15);
        assertEquals(1e-4, s.rate(0.1, 10, 10), 1e-15);
        assertEquals(1e-4, s.rate(0.1, 12, 10), 1e-15, "epochs beyond the run stay at the minimum");
        for (int e = 1; e <= 10; e++) assertTrue(s.rate(0.1, e, 10) < s.rate(0.1, e - 1, 10));
        assertTrue(LrSchedule.cosine(0).rate(0.1, 10, 10) > 0, "an optimizer needs a rate > 0");
    }

    @Test
    void constantKeepsTheRate() {
        assertEquals(0.01, LrSchedule.constant().rate(0.01, 17, 20));
        assertEquals("constant", LrSchedule.constant().describe());
    }

    @Test
    void badArgumentsAreRejected() {
        msg(() -> LrSchedule.exponential(0), "gamma");
        msg(() -> LrSchedule.exponential(Double.NaN), "gamma");
        msg(() -> LrSchedule.step(0, 0.5), "every must be >= 1");
        msg(() -> LrSchedule.cosine(-1), "minRate");
        msg(() -> LrSchedule.constant().rate(0, 0, 1), "initial learning rate");
        msg(() -> LrSchedule.exponential(0.9).rate(0.1, -1, 1), "epoch must be >= 0");
        msg(() -> LrSchedule.cosine(0).rate(0.1, 0, 0), "numEpochs");
    }

    static void msg(Runnable r, String part) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, r::run);
        assertTrue(e.getMessage().contains(part), e.getMessage() + " lacks " + part);
    }
}
