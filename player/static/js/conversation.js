// conversation.js — placeholder until the comments API lands.
export class Conversation {
  constructor(player, data) { this.player = player; this.data = data; }
  start() {}
  playerReady() {}
}
