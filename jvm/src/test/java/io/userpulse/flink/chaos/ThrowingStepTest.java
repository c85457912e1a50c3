package io.userpulse.flink.chaos;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The fault-matrix hook throws at every n-th event, a fixed number of times across instances. */
class ThrowingStepTest {

    @Test
    void throwsTimesInTotalAcrossRestartedInstances(@TempDir Path dir) throws Exception {
        ThrowingStep unarmed = new ThrowingStep(dir.toString(), 3, 1);
        for (int i = 0; i < 10; i++) {
            assertTrue(unarmed.filter(null));
        }
        Files.createFile(dir.resolve("armed"));
        int thrown = 0;
        int passed = 0;
        for (int restart = 0; restart < 5; restart++) {
            ThrowingStep step = new ThrowingStep(dir.toString(), 3, 2); // a new instance each time
            for (int i = 0; i < 4; i++) {
                try {
                    assertTrue(step.filter(null));
                    passed++;
                } catch (ThrowingStep.InjectedFailure e) {
                    thrown++;
                    break; // the task fails: this instance sees nothing more
                }
            }
        }
        assertEquals(3, thrown);
        assertEquals(3 + 4 + 4, passed); // 1 before each of 3 throws, then 2 clean instances
    }

    @Test
    void rejectsBadArguments(@TempDir Path dir) {
        assertThrows(IllegalArgumentException.class, () -> new ThrowingStep(dir.toString(), -1, 1));
        assertThrows(IllegalArgumentException.class, () -> new ThrowingStep(dir.toString(), 1, 0));
    }
}
