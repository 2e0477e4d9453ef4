/**
 * Campaign use cases: create, read, list, change and soft-delete, with the rules that the
 * database cannot express and with after-commit listeners.
 *
 * Listeners (`onChange`) run after a write has committed, with the campaign as stored; they are
 * how the Redis gate and the caches learn of suspend/resume/stock/window/delete. A failing
 * listener is logged by its owner and never undoes the committed write. The webhook events
 * `campaign.created` and `campaign.updated` (a change or a restore) are written in the write's
 * own transaction (src/webhooks/outbox.ts), and `campaign.sold_out` when a PATCH lowers the stock
 * to the issued count (claims write it when they take the last unit).
 */
import { type Db, pgError, SQLSTATE } from '../db/client.js';
import type { KeysetPosition } from '../db/keyset.js';
import { REDEEMED_WITHIN_BUDGET } from '../db/schema.js';
import { DomainError, invalidField } from '../errors.js';
import { recordEvent } from '../webhooks/outbox.js';
import type { Campaign } from './model.js';
import {
  type CampaignChanges,
  type CampaignListFilters,
  campaignRowExists,
  findCampaign,
  insertCampaign,
  listCampaigns,
  lockCampaignStock,
  type NewCampaign,
  restoreCampaign,
  softDeleteCampaign,
  updateCampaign,
} from './repository.js';
import { campaignJson } from './schemas.js';

export type CampaignChangeKind = 'created' | 'updated' | 'deleted';
export type CampaignListener = (campaign: Campaign, kind: CampaignChangeKind) => Promise<void> | void;

export class CampaignService {
  private readonly listeners: CampaignListener[] = [];

  constructor(private readonly db: Db) {}

  /** Registers a listener called after each committed campaign write. */
  onChange(listener: CampaignListener): void {
    this.listeners.push(listener);
  }

  /** @throws DomainError `validation-failed` for an unordered window or an expiry in the past. */
  async create(input: NewCampaign): Promise<Campaign> {
    checkWindow(input.startsAt, input.endsAt);
    if (input.couponValidity?.until && input.couponValidity.until <= new Date()) {
      throw invalidField('body/couponValidity/until', 'must be in the future');
    }
    const campaign = await this.db.transaction(async (tx) => {
      const inserted = await insertCampaign(tx, input);
      await recordEvent(tx, 'campaign.created', campaignJson(inserted));
      return inserted;
    });
    await this.notify(campaign, 'created');
    return campaign;
  }

  /** @throws DomainError `not-found` for an unknown or deleted campaign. */
  async get(id: string): Promise<Campaign> {
    const campaign = await findCampaign(this.db, id);
    if (!campaign) throw new DomainError('not-found', `campaign ${id} does not exist`);
    return campaign;
  }

  list(options: { limit: number; after?: KeysetPosition | undefined } & CampaignListFilters) {
    return listCampaigns(this.db, options);
  }

  /**
   * Applies a PATCH. Suspend/resume is a status change on one row (O(1)): claims and redemptions
   * check the status when they run, no coupon row is touched.
   * @throws DomainError `not-found`, `invalid-transition`, or `validation-failed` (stock below
   *   the issued count, budget below the redeemed amount, unordered window).
   */
  async update(id: string, changes: CampaignChanges): Promise<Campaign> {
    if (changes.startsAt !== undefined || changes.endsAt !== undefined) {
      const current = await this.get(id);
      checkWindow(
        changes.startsAt === undefined ? current.startsAt : changes.startsAt,
        changes.endsAt === undefined ? current.endsAt : changes.endsAt,
      );
    }
    let campaign: Campaign | undefined;
    try {
      campaign = await this.db.transaction(async (tx) => {
        // A stock lowered to the issued count sells the campaign out: say so, once (the row is
        // locked first, so no claim can take the last unit between this read and the update).
        const before = changes.totalQuantity === undefined ? undefined : await lockCampaignStock(tx, id);
        const updated = await updateCampaign(tx, id, changes);
        if (updated) await recordEvent(tx, 'campaign.updated', campaignJson(updated));
        const soldOutNow = updated && updated.issuedCount === updated.totalQuantity;
        if (updated && soldOutNow && before && before.issuedCount < before.totalQuantity) {
          await recordEvent(tx, 'campaign.sold_out', {
            campaignId: updated.id,
            totalQuantity: updated.totalQuantity,
            soldOutAt: new Date().toISOString(),
          });
        }
        return updated;
      });
    } catch (error) {
      const pg = pgError(error);
      if (pg?.code === SQLSTATE.checkViolation && pg.constraint === 'campaigns_issued_within_stock') {
        throw invalidField('body/totalQuantity', 'must not be below the number of coupons already issued');
      }
      if (pg?.code === SQLSTATE.checkViolation && pg.constraint === REDEEMED_WITHIN_BUDGET) {
        throw invalidField('body/budget', 'must not be below the discount already redeemed (redeemedAmount)');
      }
      if (pg?.code === SQLSTATE.checkViolation && pg.constraint === 'campaigns_window_ordered') {
        throw invalidField('body/endsAt', 'must be after startsAt');
      }
      throw error;
    }
    if (!campaign) {
      const current = await this.get(id);
      throw new DomainError(
        'invalid-transition',
        `a ${current.status} campaign cannot become ${changes.status}`,
      );
    }
    await this.notify(campaign, 'updated');
    return campaign;
  }

  /** Soft delete. @throws DomainError `not-found`. */
  async delete(id: string): Promise<Campaign> {
    const campaign = await softDeleteCampaign(this.db, id);
    if (!campaign) throw new DomainError('not-found', `campaign ${id} does not exist`);
    await this.notify(campaign, 'deleted');
    return campaign;
  }

  /**
   * Restores a campaign soft-deleted less than `retentionSeconds` ago (ARCHIVE_AFTER): it and its
   * coupons are visible again. Listeners hear an `updated` campaign.
   * @throws DomainError `not-found` (unknown, archived, or not deleted), `retention-expired`.
   */
  async restore(id: string, retentionSeconds: number): Promise<Campaign> {
    const campaign = await this.db.transaction(async (tx) => {
      const restored = await restoreCampaign(tx, id, retentionSeconds);
      if (restored) await recordEvent(tx, 'campaign.updated', campaignJson(restored));
      return restored;
    });
    if (campaign) {
      await this.notify(campaign, 'updated');
      return campaign;
    }
    if (await findCampaign(this.db, id)) throw new DomainError('not-found', `campaign ${id} is not deleted`);
    if (await campaignRowExists(this.db, id)) {
      throw new DomainError(
        'retention-expired',
        `campaign ${id} was deleted more than ${retentionSeconds} s ago`,
      );
    }
    throw new DomainError('not-found', `campaign ${id} does not exist`);
  }

  private async notify(campaign: Campaign, kind: CampaignChangeKind): Promise<void> {
    for (const listener of this.listeners) await listener(campaign, kind);
  }
}

function checkWindow(startsAt: Date | null, endsAt: Date | null): void {
  if (startsAt && endsAt && endsAt <= startsAt) throw invalidField('body/endsAt', 'must be after startsAt');
}
